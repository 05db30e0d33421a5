from django.db import migrations

# Frozen copy of the defaults at the time of this migration (DESIGN.md).
DEPARTMENTS = [
    ("PROD", "Production"),
    ("FAE", "FAE"),
    ("XRAY", "X-ray lab"),
    ("EE", "EE"),
    ("ME", "ME"),
]
STAGE_OWNERS = {
    "reported": "PROD",
    "fae_retest": "FAE",
    "xray": "XRAY",
    "ee_analysis": "EE",
    "me_analysis": "ME",
    "final_retest": "FAE",
}


def create_defaults(apps, schema_editor):
    department_model = apps.get_model("incidents", "Department")
    ownership_model = apps.get_model("incidents", "StageOwnership")
    departments = {}
    for code, name in DEPARTMENTS:
        departments[code], _ = department_model.objects.get_or_create(
            code=code, defaults={"name": name}
        )
    for stage, code in STAGE_OWNERS.items():
        ownership_model.objects.get_or_create(
            stage=stage, defaults={"department": departments[code]}
        )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0003_role_groups")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
