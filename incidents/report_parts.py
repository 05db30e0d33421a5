"""A problem group's reports written in parts, so that memory stays bounded whatever the group's
size (incidents.reports makes the same documents in one piece, for one incident).

PDF: the group's page and its list of incidents, then its incidents a few at a time, each part
rendered by WeasyPrint on its own into a file and the parts joined with PDFium; a part's pages
are numbered on from the part before it. Pictures are the stored previews only (the reports'
URL fetcher). XLSX: openpyxl's write-only workbook, written row by row: the incidents one per
row, then each of an incident's report sheets as one sheet holding every incident's rows, each
row starting with its incident.

The incidents are those the reader may see when the file is made (access.restrict), read with
`.iterator(chunk_size=…)`; `step(done, total)` is called after each part (it may raise to stop).
"""

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path

from django.db.models import Count
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents import report_files, reports
from incidents.choices import Stage
from incidents.models import EightD, ProblemGroup

# Incidents rendered in one PDF part, and rows of the incident list in one part: each part's
# layout is held in memory while it renders, then let go.
INCIDENTS_PER_PART = 10
LIST_ROWS_PER_PART = 400
Step = Callable[[int, int], None]


def group_incidents(group: ProblemGroup, reader):
    """The group's incidents `reader` may see, oldest first."""
    return (
        group.incidents.all()
        .visible_to(reader)
        .select_related("device", "reporter", "reported_by_token", "problem_group")
        .order_by("opened_at", "pk")
    )


def _batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _counts(incidents) -> dict[str, int]:
    """How many of the incidents are in each stage, by its label, in the workflow's order."""
    by_stage = dict(
        incidents.order_by().values_list("stage").annotate(n=Count("pk")).values_list("stage", "n")
    )
    return {str(stage.label): by_stage[stage] for stage in Stage if by_stage.get(stage)}


class _PdfParts:
    """PDF parts rendered one after the other into `folder`, their pages numbered on."""

    def __init__(self, folder: Path, title: str, footer: str):
        self.folder, self.title, self.footer = folder, title, footer
        self.paths: list[Path] = []
        self.pages = 0

    def add(self, **context) -> None:
        weasyprint = reports._weasyprint()
        html = render_to_string(
            "incidents/report/part.html",
            {"title": self.title, "footer": self.footer, "first_page": self.pages + 1, **context},
        )
        document = weasyprint.HTML(
            string=html, base_url=str(Path.cwd()), url_fetcher=report_files.fetch
        ).render()
        path = self.folder / f"part-{len(self.paths):05d}.pdf"
        document.write_pdf(path)
        self.pages += len(document.pages)
        self.paths.append(path)

    def join(self, target: Path) -> None:
        """The parts one after the other in `target`, each removed once copied. PDFium copies
        the pages in C (a 4,000-page report joins in about 70 MB, where pypdf took 180)."""
        import pypdfium2

        document = pypdfium2.PdfDocument.new()
        try:
            for path in self.paths:
                part = pypdfium2.PdfDocument(str(path))
                try:
                    document.import_pages(part)
                finally:
                    part.close()
                path.unlink(missing_ok=True)
            document.save(str(target))
        finally:
            document.close()


def _list_parts(parts: _PdfParts, incidents, **head) -> None:
    """The incident list, LIST_ROWS_PER_PART rows a part; the first part carries `head`."""
    rows = (reports.Evidence(incident) for incident in incidents.iterator(chunk_size=500))
    first = True
    for batch in _batches(rows, LIST_ROWS_PER_PART):
        parts.add(items=batch, **(head if first else {}))
        first = False
    if first:  # no incident: the head and "no incident yet"
        parts.add(items=[], empty=True, **head)


def group_report_pdf_file(*, group: ProblemGroup, reader, target: Path, step: Step) -> None:
    incidents = group_incidents(group, reader)
    total = incidents.count()
    number = group.number
    parts = _PdfParts(
        target.parent, _("Failure analysis report %(number)s") % {"number": number}, number
    )
    step(0, total)
    _list_parts(
        parts,
        incidents,
        head="group",
        group=group,
        counts=_counts(incidents),
        generated_at=timezone.now(),
    )
    done = 0
    for batch in _batches(incidents.iterator(chunk_size=INCIDENTS_PER_PART), INCIDENTS_PER_PART):
        parts.add(reports=[reports.incident_report(incident) for incident in batch])
        done += len(batch)
        step(done, total)
    parts.join(target)


def eightd_report_pdf_file(*, group: ProblemGroup, reader, target: Path, step: Step) -> None:
    incidents = group_incidents(group, reader)
    total = incidents.count()
    number = group.number
    title = _("8D report %(number)s") % {"number": number}
    parts = _PdfParts(target.parent, title, title)
    step(0, total)
    eightd = EightD.objects.filter(group=group).first() or EightD(group=group)
    _list_parts(
        parts,
        incidents,
        head="eightd",
        group=group,
        counts=_counts(incidents),
        disciplines=eightd.disciplines(),
        generated_at=timezone.now(),
    )
    step(total, total)
    parts.join(target)


def _bold(sheet, values: list):
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    bold = Font(bold=True)
    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = bold
        cells.append(cell)
    return cells


def _widths(sheet, columns: int) -> None:
    from openpyxl.utils import get_column_letter

    for index in range(1, columns + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 22


def group_report_xlsx_file(*, group: ProblemGroup, reader, target: Path, step: Step):
    """The incidents one per row, then one sheet per part of an incident's report (summary,
    stages, timeline, records and results, custody trail) holding every incident's rows.
    Returns the workbook (write-only) for whoever checks how it was written."""
    import openpyxl

    incidents = group_incidents(group, reader)
    total = incidents.count()
    step(0, total)
    book = openpyxl.Workbook(write_only=True)
    listing = book.create_sheet(_("Incidents")[:31])
    _widths(listing, 7)
    headers_written = False
    sheets: list = []
    done = 0
    for batch in _batches(incidents.iterator(chunk_size=INCIDENTS_PER_PART), INCIDENTS_PER_PART):
        for incident in batch:
            report = reports.incident_report(incident)
            lines = _Lines()
            reports._incident_lines(lines, [report])
            header, row = lines.rows
            if not headers_written:
                listing.append(_bold(listing, header))
                headers_written = True
            listing.append(row)
            single = reports.report_book(report)
            for index, source in enumerate(single.worksheets):
                rows = source.iter_rows(values_only=True)
                first = list(next(rows, []))
                # The summary is label and value, without a header row of its own.
                header = [_("Fact"), _("Value")] if index == 0 else first
                if index == len(sheets):
                    sheet = book.create_sheet(source.title[:31])
                    _widths(sheet, len(header) + 1)
                    sheet.append(_bold(sheet, [_("Incident"), *header]))
                    sheets.append(sheet)
                if index == 0:
                    sheets[index].append([f"#{incident.pk}", *first])
                for values in rows:
                    sheets[index].append([f"#{incident.pk}", *values])
            single.close()
        done += len(batch)
        step(done, total)
    if not headers_written:
        lines = _Lines()
        reports._incident_lines(lines, [])
        listing.append(_bold(listing, lines.rows[0]))
    book.save(target)
    return book


class _Lines:
    """Stands in for a sheet to collect the rows `reports._incident_lines` appends."""

    def __init__(self):
        self.rows: list[list] = []

    def append(self, row) -> None:
        self.rows.append(list(row))
