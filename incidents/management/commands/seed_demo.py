from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from fixtures.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo departments' people, locations, devices and incidents (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load demo accounts even when DJANGO_ENV=production (they share one password).",
        )

    def handle(self, *args, **options):
        if settings.IS_PRODUCTION and not options["allow_production"]:
            raise CommandError(
                "Refusing to load demo accounts in production; pass --allow-production to insist."
            )
        created = load_demo()
        summary = ", ".join(f"{count} {name}" for name, count in created.items())
        self.stdout.write(self.style.SUCCESS(f"Demo data ready (created: {summary})."))
