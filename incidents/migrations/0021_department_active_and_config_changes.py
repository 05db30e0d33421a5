"""Departments can be deactivated; a hand-over when an assignee leaves the department is on the
timeline; configuration changes are recorded (incidents.ConfigChange) and administrators read
them. Adds exactly that permission to the admin role, nothing else."""

import django.core.serializers.json
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from incidents.migrations._roles import change_role_permissions

# role → (permissions added, permissions removed), as "app_label.codename".
CHANGES = {"admin": (["incidents.view_configchange"], [])}


def apply_changes(apps, schema_editor):
    change_role_permissions(apps, CHANGES)


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0020_problem_group_eightd'),
    ]

    operations = [
        migrations.AddField(
            model_name='department',
            name='is_active',
            field=models.BooleanField(default=True, help_text='Untick to stop using the department: it then takes no members and owns no stage, and stays named wherever it was.', verbose_name='active'),
        ),
        migrations.AlterField(
            model_name='incidentevent',
            name='action',
            field=models.CharField(choices=[('open', 'Opened'), ('assign', 'Assigned'), ('record', 'Operation record added'), ('result', 'Analysis result added'), ('submit', 'Submitted for review'), ('approve', 'Approved'), ('reject', 'Sent back'), ('cancel', 'Cancelled'), ('edit', 'Details changed'), ('mention', 'Mentioned in the chat'), ('import', 'Updated from the legacy workbook'), ('unassign', 'Back to the queue')], max_length=16, verbose_name='action'),
        ),
        migrations.AlterField(
            model_name='incidentevent',
            name='note',
            field=models.CharField(blank=True, choices=[('legacy_import', 'Imported from the legacy workbook'), ('legacy_stage', 'Stage from the legacy workbook'), ('assignee_moved', 'Handed over: the assignee moved to another department')], max_length=32, verbose_name='note'),
        ),
        migrations.AlterField(
            model_name='notification',
            name='action',
            field=models.CharField(choices=[('open', 'Opened'), ('assign', 'Assigned'), ('record', 'Operation record added'), ('result', 'Analysis result added'), ('submit', 'Submitted for review'), ('approve', 'Approved'), ('reject', 'Sent back'), ('cancel', 'Cancelled'), ('edit', 'Details changed'), ('mention', 'Mentioned in the chat'), ('import', 'Updated from the legacy workbook'), ('unassign', 'Back to the queue')], max_length=16, verbose_name='action'),
        ),
        migrations.CreateModel(
            name='ConfigChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='at')),
                ('kind', models.CharField(choices=[('role', 'Role'), ('role_permissions', 'Permissions of a role'), ('person_roles', 'Roles of a person'), ('superuser', 'Superuser status'), ('department', 'Department'), ('supervisors', 'Supervisors of a department'), ('stage_ownership', 'Stage ownership'), ('project_access', 'Project restriction')], max_length=32, verbose_name='what')),
                ('action', models.CharField(choices=[('created', 'Created'), ('changed', 'Changed'), ('deleted', 'Deleted')], max_length=16, verbose_name='change')),
                ('object_id', models.BigIntegerField(blank=True, null=True, verbose_name='object id')),
                ('object_repr', models.CharField(max_length=200, verbose_name='object')),
                ('before', models.JSONField(blank=True, default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder, verbose_name='before')),
                ('after', models.JSONField(blank=True, default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder, verbose_name='after')),
                ('by', models.ForeignKey(blank=True, help_text='Empty when the change was made outside a request (a command, a migration).', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='config_changes', to=settings.AUTH_USER_MODEL, verbose_name='by')),
            ],
            options={
                'verbose_name': 'configuration change',
                'verbose_name_plural': 'configuration changes',
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['kind', 'object_id'], name='config_change_object')],
            },
        ),
        migrations.RunPython(apply_changes, migrations.RunPython.noop),
    ]
