"""Confidential project names compared through one normalisation, on whatever database runs
it: `python -m tests.incidents.project_names` with DATABASE_URL naming a new SQLite file
migrates it, writes the cases below and prints as JSON which devices an outsider and an insider
see (tests/incidents/test_project_names.py runs the same cases on PostgreSQL in the suite)."""

import json
import os

# (restricted as, devices spelled) — every device here must be hidden from an outsider.
HIDDEN = [
    ("Сокол", ["СОКОЛ", "сокол", " Сокол "]),
    ("Straße", ["STRASSE", "strasse", "STRAẞE"]),
    ("猎鹰", ["猎鹰"]),
    ("Ｇ１８", ["G18", "g18"]),
]
# Spelled close to a restricted name, but another project: seen by everyone.
VISIBLE = ["Соколы", "Strasse 2", "猎鹰2", "G180", ""]


def cases() -> dict:
    """Write the restrictions and devices; which serial numbers each person sees."""
    from incidents import access
    from incidents.models import Department, Employee, ProjectAccess
    from locations.models import Device

    xray = Department.objects.get(code="XRAY")
    fae = Department.objects.get(code="FAE")
    for name, _spellings in HIDDEN:
        ProjectAccess.objects.create(project=name).departments.add(xray)
    serials = {}
    for n, spelling in enumerate([s for _n, group in HIDDEN for s in group] + VISIBLE):
        serials[f"SN-{n:03d}"] = spelling
        Device.objects.create(serial_number=f"SN-{n:03d}", project=spelling)
    outsider = Employee.objects.create(username="outsider", employee_number="N1", department=fae)
    insider = Employee.objects.create(username="insider", employee_number="N2", department=xray)

    def seen(person) -> list[str]:
        rows = access.restrict(Device.objects.order_by("serial_number"), person)
        return [serials[serial] for serial in rows.values_list("serial_number", flat=True)]

    outsider_sees = access.sees_project(outsider)
    return {
        "outsider": seen(outsider),
        "insider": seen(insider),
        "outsider_in_python": [p for p in serials.values() if outsider_sees(p)],
        "all": list(serials.values()),
    }


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(json.dumps(cases()))
