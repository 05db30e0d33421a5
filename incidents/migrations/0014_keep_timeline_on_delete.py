"""An incident's timeline, operation records (with their attachments) and analysis results stay
when the incident is deleted: their link to it is kept as a plain id, with no cascade."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("incidents", "0013_legacy_import_worker")]

    operations = [
        migrations.AlterField(
            model_name="incidentevent",
            name="incident",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="events",
                to="incidents.incident",
                verbose_name="incident",
            ),
        ),
        migrations.AlterField(
            model_name="operationrecord",
            name="incident",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="operation_records",
                to="incidents.incident",
                verbose_name="incident",
            ),
        ),
        migrations.AlterField(
            model_name="analysisresult",
            name="incident",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="analysis_results",
                to="incidents.incident",
                verbose_name="incident",
            ),
        ),
    ]
