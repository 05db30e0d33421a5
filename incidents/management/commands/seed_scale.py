import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from incidents.scale import seed_scale, supported


class Command(BaseCommand):
    help = (
        "Add N made-up incidents with a factory around them (people, places, devices and their "
        "trails, timelines, records, results, problem groups, notifications, chat), written "
        "directly for speed, to measure the admin at scale. Running it again adds another set."
    )

    def add_arguments(self, parser):
        parser.add_argument("--incidents", type=int, required=True, help="how many incidents")
        parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        parser.add_argument(
            "--allow-sqlite",
            action="store_true",
            help="run on a database other than PostgreSQL too (row by row, much slower)",
        )

    def handle(self, *args, incidents, seed, allow_sqlite, **options):
        if incidents < 1:
            raise CommandError("--incidents must be at least 1.")
        if not supported() and not allow_sqlite:
            raise CommandError(
                f"seed_scale streams its rows with PostgreSQL's COPY; this database is "
                f"{connection.vendor}. Point DATABASE_URL at PostgreSQL, or pass --allow-sqlite "
                f"to insert row by row (slow beyond a few thousand incidents)."
            )
        started = time.perf_counter()
        self.stdout.write(f"Seeding {incidents:,} incidents on {connection.vendor} (seed {seed}):")

        def progress(counts: dict[str, int]) -> None:
            elapsed = time.perf_counter() - started
            tables = " · ".join(f"{label} {rows:,}" for label, rows in counts.items())
            self.stdout.write(f"  [{elapsed:6.1f} s] {tables}")

        counts = seed_scale(incidents, seed=seed, progress=progress)
        elapsed = time.perf_counter() - started
        self.stdout.write("")
        width = max(len(label) for label in counts)
        for label, rows in counts.items():
            self.stdout.write(f"  {label:<{width}} {rows:>12,}")
        self.stdout.write(f"  {'total':<{width}} {sum(counts.values()):>12,}")
        self.stdout.write(self.style.SUCCESS(f"Seeded {incidents:,} incidents in {elapsed:.1f} s."))
