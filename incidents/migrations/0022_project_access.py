"""Confidential projects (incidents.ProjectAccess): an administrator restricts a project to
departments and people. Adds exactly the permissions to configure them to the admin role."""

import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from incidents.migrations._roles import change_role_permissions

# role → (permissions added, permissions removed), as "app_label.codename".
CHANGES = {
    "admin": (
        [f"incidents.{action}_projectaccess" for action in ("add", "change", "delete", "view")],
        [],
    )
}


def apply_changes(apps, schema_editor):
    change_role_permissions(apps, CHANGES)


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0021_department_active_and_config_changes'),
    ]

    operations = [
        migrations.CreateModel(
            name='ProjectAccess',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('project', models.CharField(help_text='As written on the devices, e.g. G18. Upper and lower case are the same.', max_length=100, verbose_name='project')),
                ('note', models.TextField(blank=True, help_text="Why it is restricted, e.g. the customer's contract.", verbose_name='note')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='restricted since')),
                ('departments', models.ManyToManyField(blank=True, help_text='Everyone in these departments sees the project.', related_name='project_accesses', to='incidents.department', verbose_name='departments')),
                ('people', models.ManyToManyField(blank=True, help_text='These people see the project, whatever their department.', related_name='project_accesses', to=settings.AUTH_USER_MODEL, verbose_name='people')),
            ],
            options={
                'verbose_name': 'restricted project',
                'verbose_name_plural': 'restricted projects',
                'ordering': ['project'],
                'constraints': [models.UniqueConstraint(django.db.models.functions.text.Upper('project'), name='project_access_project_unique', violation_error_message='This project is already restricted.')],
            },
        ),
        migrations.RunPython(apply_changes, migrations.RunPython.noop),
    ]
