from django.db import migrations

from incidents.roles import sync_role_groups


class Migration(migrations.Migration):
    dependencies = [("incidents", "0009_legacy_import")]

    operations = [migrations.RunPython(sync_role_groups, migrations.RunPython.noop)]
