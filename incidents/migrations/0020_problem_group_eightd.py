"""A problem group gets an owner and an 8D report (incidents/models/eightd.py). Every role reads
8D reports and their history and holds the permission to write one; the services let only the
group's owner or an administrator use it. Adds exactly these permissions, nothing else."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models

from incidents.migrations._roles import change_role_permissions

EIGHTD_PERMISSIONS = [
    "incidents.view_eightd",
    "incidents.view_historicaleightd",
    "incidents.change_eightd",
]
# role → (permissions added, permissions removed), as "app_label.codename".
CHANGES = {
    "staff": (EIGHTD_PERMISSIONS, []),
    "supervisor": (EIGHTD_PERMISSIONS, []),
    "admin": (EIGHTD_PERMISSIONS, []),
}


def apply_changes(apps, schema_editor):
    change_role_permissions(apps, CHANGES)


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0019_incident_search_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalproblemgroup',
            name='owner',
            field=models.ForeignKey(blank=True, db_constraint=False, help_text="Fills the group's 8D report. Set by a supervisor or an administrator.", null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='owner'),
        ),
        migrations.AddField(
            model_name='problemgroup',
            name='owner',
            field=models.ForeignKey(blank=True, help_text="Fills the group's 8D report. Set by a supervisor or an administrator.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='owned_problem_groups', to=settings.AUTH_USER_MODEL, verbose_name='owner'),
        ),
        migrations.CreateModel(
            name='EightD',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('team', models.TextField(blank=True, help_text='Who works on the problem: names, departments, what each one does.', verbose_name='D1 Team')),
                ('team_date', models.DateField(blank=True, null=True, verbose_name='D1 date')),
                ('problem', models.TextField(blank=True, help_text='What fails, where, since when and how often, in measurable terms.', verbose_name='D2 Problem description')),
                ('problem_date', models.DateField(blank=True, null=True, verbose_name='D2 date')),
                ('containment', models.TextField(blank=True, help_text='What keeps the failure from reaching the customer until it is fixed.', verbose_name='D3 Containment')),
                ('containment_date', models.DateField(blank=True, null=True, verbose_name='D3 date')),
                ('root_cause', models.TextField(blank=True, help_text='Why it fails and why it was not detected, shown by the evidence.', verbose_name='D4 Root cause')),
                ('root_cause_date', models.DateField(blank=True, null=True, verbose_name='D4 date')),
                ('corrective_action', models.TextField(blank=True, help_text='The permanent fix chosen for the root cause.', verbose_name='D5 Corrective action')),
                ('corrective_action_date', models.DateField(blank=True, null=True, verbose_name='D5 date')),
                ('verification', models.TextField(blank=True, help_text='How the fix was put in place and shown to work.', verbose_name='D6 Verification')),
                ('verification_date', models.DateField(blank=True, null=True, verbose_name='D6 date')),
                ('prevention', models.TextField(blank=True, help_text='What changes in processes, designs or tests so it does not happen again.', verbose_name='D7 Prevention')),
                ('prevention_date', models.DateField(blank=True, null=True, verbose_name='D7 date')),
                ('closure', models.TextField(blank=True, help_text='The conclusion and who is recognised for the work.', verbose_name='D8 Closure')),
                ('closure_date', models.DateField(blank=True, null=True, verbose_name='D8 date')),
                ('group', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='eightd', to='incidents.problemgroup', verbose_name='problem group')),
            ],
            options={
                'verbose_name': '8D report',
                'verbose_name_plural': '8D reports',
                'ordering': ['-group__number'],
            },
        ),
        migrations.CreateModel(
            name='HistoricalEightD',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('team', models.TextField(blank=True, help_text='Who works on the problem: names, departments, what each one does.', verbose_name='D1 Team')),
                ('team_date', models.DateField(blank=True, null=True, verbose_name='D1 date')),
                ('problem', models.TextField(blank=True, help_text='What fails, where, since when and how often, in measurable terms.', verbose_name='D2 Problem description')),
                ('problem_date', models.DateField(blank=True, null=True, verbose_name='D2 date')),
                ('containment', models.TextField(blank=True, help_text='What keeps the failure from reaching the customer until it is fixed.', verbose_name='D3 Containment')),
                ('containment_date', models.DateField(blank=True, null=True, verbose_name='D3 date')),
                ('root_cause', models.TextField(blank=True, help_text='Why it fails and why it was not detected, shown by the evidence.', verbose_name='D4 Root cause')),
                ('root_cause_date', models.DateField(blank=True, null=True, verbose_name='D4 date')),
                ('corrective_action', models.TextField(blank=True, help_text='The permanent fix chosen for the root cause.', verbose_name='D5 Corrective action')),
                ('corrective_action_date', models.DateField(blank=True, null=True, verbose_name='D5 date')),
                ('verification', models.TextField(blank=True, help_text='How the fix was put in place and shown to work.', verbose_name='D6 Verification')),
                ('verification_date', models.DateField(blank=True, null=True, verbose_name='D6 date')),
                ('prevention', models.TextField(blank=True, help_text='What changes in processes, designs or tests so it does not happen again.', verbose_name='D7 Prevention')),
                ('prevention_date', models.DateField(blank=True, null=True, verbose_name='D7 date')),
                ('closure', models.TextField(blank=True, help_text='The conclusion and who is recognised for the work.', verbose_name='D8 Closure')),
                ('closure_date', models.DateField(blank=True, null=True, verbose_name='D8 date')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('group', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='incidents.problemgroup', verbose_name='problem group')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical 8D report',
                'verbose_name_plural': 'historical 8D reports',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.RunPython(apply_changes, migrations.RunPython.noop),
    ]
