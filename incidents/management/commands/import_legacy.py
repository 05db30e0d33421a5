import sys

from django.core.management.base import BaseCommand, CommandError

from incidents.legacy.columns import SHEET_ORDER
from incidents.legacy.importer import ALL_LISTED, LegacyImporter
from incidents.services.errors import WorkflowError
from incidents.services.legacy import legacy_workbook_check


class Command(BaseCommand):
    help = (
        "Import the legacy Excel workbook (employees, locations, incident register, location "
        "trail) in one transaction: all of it or nothing. Exit status 1 when any row is invalid."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the .xlsx workbook")
        parser.add_argument(
            "--dry-run", action="store_true", help="check and count, change nothing"
        )
        parser.add_argument(
            "--change-people",
            action="store_true",
            help=(
                "also make the changes to people a dry run lists (names, e-mails, departments "
                "of people already in the product, and roles); without it nobody already in "
                "the product is changed and no role is granted"
            ),
        )

    def handle(self, *args, path, dry_run, change_people=False, **options):
        interactive = self.stdout.isatty()
        self._last_line = ""

        def progress(kind: str, done: int, total: int) -> None:
            if interactive:
                width = 30
                filled = int(width * done / total) if total else width
                line = f"\r  {kind:<10} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
                self.stdout.write(line, ending="")
                self.stdout.flush()
                if done >= total:
                    self.stdout.write("")
            else:
                line = f"  {kind}: {done}/{total}"
                if line != self._last_line:
                    self.stdout.write(line)
                    self._last_line = line

        try:
            legacy_workbook_check(workbook=path)
        except (WorkflowError, OSError) as error:
            raise CommandError(str(error)) from error
        confirmed = ALL_LISTED if change_people else None
        report = LegacyImporter(path, progress=progress, confirmed_people=confirmed).run(
            dry_run=dry_run
        )

        self.stdout.write("")
        title = "Dry run (nothing was changed):" if dry_run else "Import:"
        self.stdout.write(title)
        self.stdout.write(
            f"  {'sheet':<10} {'created':>8} {'updated':>8} {'unchanged':>10} {'skipped':>8} "
            f"{'errors':>7}"
        )
        for kind in SHEET_ORDER:
            summary = report.summaries.get(kind)
            if summary is None:
                continue
            self.stdout.write(
                f"  {kind:<10} {summary.created:>8} {summary.updated:>8} "
                f"{summary.unchanged:>10} {summary.skipped:>8} {summary.errors:>7}  "
                f"{report.sheet_titles.get(kind, '')}"
            )
        if report.people_changes:
            made = sum(change.applied for change in report.people_changes)
            self.stdout.write(
                f"{len(report.people_changes)} change(s) to people asked for, {made} made"
                + ("" if change_people else " (--change-people makes them)")
                + ":"
            )
            for change in report.people_changes:
                self.stdout.write(f"  {change}{'' if change.applied else '  [not made]'}")
        if report.skipped:
            self.stdout.write(f"{len(report.skipped)} row(s) left as they are, with the reason:")
            for line in report.skipped:
                self.stdout.write(f"  {line}")
        if report.errors:
            self.stderr.write(f"{len(report.errors)} problem(s); nothing was imported:")
            for error in report.errors:
                self.stderr.write(f"  {error}")
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("Done." if not dry_run else "No problems found."))
