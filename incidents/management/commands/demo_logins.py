from django.core.management.base import BaseCommand

from fixtures.demo import DEMO_PASSWORD, demo_employees
from incidents.models import Employee


class Command(BaseCommand):
    help = "Print the demo accounts that exist in this database and their password."

    def handle(self, *args, **options):
        existing = set(Employee.objects.values_list("username", flat=True))
        rows = [row for row in demo_employees() if row["username"] in existing]
        if not rows:
            self.stdout.write("No demo accounts here; run `python manage.py seed_demo`.")
            return
        self.stdout.write(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
        for row in rows:
            department = row["department"] or "-"
            self.stdout.write(
                f"    {row['username']:<12} {row['role']:<11} {department:<5} {row['display_name']}"
            )
