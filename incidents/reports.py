"""The failure-analysis report of an incident, the document sent to a customer or a supplier:
the device, the stages with who and when, every operation record and analysis result with its
verdict, the attachments (images embedded), what the chat marked as evidence, the custody
trail and the final disposition. PDF (WeasyPrint rendering templates/incidents/report/
incident.html) and XLSX (openpyxl), in the active language. A problem group has the same report
of all its incidents, and its 8D report: the eight disciplines its owner wrote, with the
incidents as the evidence.

WeasyPrint renders the product's own HTML and CSS, so the report looks like the product and
Chinese text comes out as text (searchable, copyable) with the CJK font the setup installs.
"""

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from config.kit.spreadsheets import escape_formula
from incidents import report_files
from incidents.choices import TERMINAL_STAGES, Stage, WorkflowAction
from incidents.models import EightD, Incident, IncidentEvent, ProblemGroup
from incidents.selectors import incident_records_by_stage, incident_timeline
from locations.selectors import device_trail


@dataclass
class StageVisit:
    stage: Stage
    entered: datetime
    left: datetime | None = None
    people: list[str] = field(default_factory=list)


def incident_disposition(incident: Incident) -> str:
    """How the incident ended (and when), or where it is while it is open."""
    if incident.stage in TERMINAL_STAGES:
        return _("%(outcome)s on %(at)s") % {
            "outcome": incident.get_stage_display(),
            "at": date_format(timezone.localtime(incident.closed_at), "DATETIME_FORMAT")
            if incident.closed_at
            else "—",
        }
    return _("Open: %(stage)s, %(step)s") % {
        "stage": incident.get_stage_display(),
        "step": incident.get_step_display(),
    }


@dataclass
class Evidence:
    """An incident as one line of a group's reports: what failed and how it ended."""

    incident: Incident

    @property
    def disposition(self) -> str:
        return incident_disposition(self.incident)


@dataclass
class Report:
    incident: Incident
    visits: list[StageVisit]
    timeline: list[IncidentEvent]
    record_groups: list[dict]
    trail: list
    generated_at: datetime

    @property
    def disposition(self) -> str:
        return incident_disposition(self.incident)


def _visits(timeline: list[IncidentEvent]) -> list[StageVisit]:
    """The stages in the order they were worked, with when and by whom (oldest first).

    An entry's assignee is the person assigned in the stage the entry left (`from_stage`): the
    approval that moves the incident on, a cancel, a hand-over all name who worked the stage
    being left, not someone of the next one. So a stage lists exactly the people assigned in it,
    and a stage the incident ended in (returned, scrapped, cancelled) lists nobody."""
    visits: list[StageVisit] = []
    for event in sorted(timeline, key=lambda e: (e.created_at, e.id)):
        moves = event.action == WorkflowAction.OPEN or event.from_stage != event.to_stage
        current = visits[-1] if visits else None
        if event.assignee and current is not None and current.stage == event.from_stage:
            name = event.assignee.get_full_name()
            if name not in current.people:
                current.people.append(name)
        if moves:
            if current is not None and current.left is None:
                current.left = event.created_at
            visits.append(StageVisit(stage=Stage(event.to_stage), entered=event.created_at))
    return visits


def incident_report(incident: Incident) -> Report:
    timeline = incident_timeline(incident)
    opened, closed = incident.opened_at, incident.closed_at
    trail = [
        entry
        for entry in device_trail(incident.device)
        if entry.at >= opened and (closed is None or entry.at <= closed)
    ]
    return Report(
        incident=incident,
        visits=_visits(timeline),
        timeline=timeline,
        record_groups=incident_records_by_stage(incident),
        trail=trail,
        generated_at=timezone.now(),
    )


def _stage_counts(items) -> dict[str, int]:
    """How many of the group's incidents are in each stage (or ended in it), by its label."""
    counts: dict[str, int] = {}
    for item in items:
        label = str(item.incident.get_stage_display())
        counts[label] = counts.get(label, 0) + 1
    return counts


def _group_incidents(group: ProblemGroup, reader):
    """The group's incidents `reader` may see (a confidential project's stay out of the report
    of someone it is not open to)."""
    incidents = group.incidents.all().visible_to(reader)
    return incidents.select_related(
        "device", "reporter", "reported_by_token", "problem_group"
    ).order_by("opened_at", "pk")


@dataclass
class GroupReport:
    group: ProblemGroup
    reports: list[Report]
    generated_at: datetime

    @property
    def counts(self) -> dict[str, int]:
        return _stage_counts(self.reports)


def problem_group_report(group: ProblemGroup, reader) -> GroupReport:
    return GroupReport(
        group=group,
        reports=[incident_report(incident) for incident in _group_incidents(group, reader)],
        generated_at=timezone.now(),
    )


@dataclass
class EightDReport:
    """A problem group's 8D report: the disciplines (empty until the owner writes them) and the
    group's incidents as the evidence."""

    group: ProblemGroup
    eightd: EightD
    evidence: list[Evidence]
    generated_at: datetime

    @property
    def disciplines(self):
        return self.eightd.disciplines()

    @property
    def counts(self) -> dict[str, int]:
        return _stage_counts(self.evidence)


def eightd_report(group: ProblemGroup, reader) -> EightDReport:
    return EightDReport(
        group=group,
        eightd=EightD.objects.filter(group=group).first() or EightD(group=group),
        evidence=[Evidence(incident) for incident in _group_incidents(group, reader)],
        generated_at=timezone.now(),
    )


def _weasyprint():
    """WeasyPrint, imported without its process-wide side effect: it tells Pillow to accept
    truncated images, which would let a broken upload pass for a picture in the chat."""
    from PIL import ImageFile

    accepted = ImageFile.LOAD_TRUNCATED_IMAGES
    import weasyprint

    ImageFile.LOAD_TRUNCATED_IMAGES = accepted
    return weasyprint


def _pdf(template: str, context: dict) -> bytes:
    weasyprint = _weasyprint()
    html = render_to_string(template, context)
    # Only the product's own small pictures are read, by id; every other URL is refused.
    return weasyprint.HTML(
        string=html, base_url=str(Path.cwd()), url_fetcher=report_files.fetch
    ).write_pdf()


def report_pdf(report: Report) -> bytes:
    return _pdf("incidents/report/incident.html", {"report": report})


def group_report_pdf(report: GroupReport) -> bytes:
    return _pdf("incidents/report/problem_group.html", {"group_report": report})


def eightd_report_pdf(report: EightDReport) -> bytes:
    return _pdf("incidents/report/eightd.html", {"eightd_report": report})


# --- spreadsheets ---------------------------------------------------------------------------------
def _text(value) -> str:
    """A cell's text: a spreadsheet never runs it as a formula."""
    return escape_formula(str(value)) if value not in (None, "") else ""


def _by(event: IncidentEvent) -> str:
    """Who made a timeline entry: a person, or the line that opened the incident."""
    if getattr(event, "by_line", ""):
        return _("Line · %(name)s") % {"name": event.by_line}
    return event.actor.get_full_name() if event.actor else ""


def _when(value) -> datetime | None:
    """A moment as a date cell (Excel sorts and filters it as a date), as the list exports write
    them: the factory's local time to the second, without a zone, which Excel has not."""
    return timezone.localtime(value).replace(tzinfo=None, microsecond=0) if value else None


def _cell(value):
    """A fact's value as a cell: moments and dates as date cells, anything else as text."""
    if isinstance(value, datetime):
        return _when(value)
    if isinstance(value, date):
        return value
    return _text(value)


def _facts(sheet, rows) -> None:
    """Label and value, one pair a row, the labels bold."""
    from openpyxl.styles import Font

    for label, value in rows:
        sheet.append([_text(label), _cell(value)])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)


def _incident_lines(sheet, items) -> None:
    """The incidents one per row (`items`: each with `incident` and `disposition`)."""
    sheet.append(
        [
            _("Incident"),
            _("Serial number"),
            _("Project"),
            _("Fail item"),
            _("Stage"),
            _("Opened"),
            _("Disposition"),
        ]
    )
    for item in items:
        incident = item.incident
        sheet.append(
            [
                f"#{incident.pk}",
                _text(incident.device.serial_number),
                _text(incident.device.project),
                _text(incident.fail_item),
                str(incident.get_stage_display()),
                _when(incident.opened_at),
                item.disposition,
            ]
        )


def _styled(book) -> None:
    """Bold headers on every sheet's first row, columns wide enough to read."""
    from openpyxl.styles import Font

    bold = Font(bold=True)
    for sheet in book.worksheets:
        for cell in sheet[1]:
            cell.font = bold
        for column in sheet.columns:
            sheet.column_dimensions[column[0].column_letter].width = 22


def _saved(book) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def group_report_xlsx(report: GroupReport) -> bytes:
    """The group's incidents one per row, then each incident's report sheets after it."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = _("Incidents")[:31]
    _incident_lines(sheet, report.reports)
    for item in report.reports:
        single = openpyxl.load_workbook(io.BytesIO(report_xlsx(item)))
        for source in single.worksheets:
            target = book.create_sheet(f"#{item.incident.pk} {source.title}"[:31])
            for row in source.iter_rows(values_only=True):
                target.append(list(row))
    return _saved(book)


def _group_facts(report: EightDReport) -> list[tuple]:
    group = report.group
    return [
        (_("Problem group"), group.number),
        (_("Title"), group.title),
        (_("Status"), group.get_status_display()),
        (_("Owner"), group.owner.get_full_name() if group.owner else ""),
        (_("Description"), group.description),
        (
            _("Incidents"),
            " · ".join(f"{label}: {count}" for label, count in report.counts.items()),
        ),
        (_("Report generated"), report.generated_at),
    ]


def eightd_report_xlsx(report: EightDReport) -> bytes:
    """The group, the eight disciplines with their dates, the incidents as the evidence."""
    import openpyxl

    book = openpyxl.Workbook()
    summary = book.active
    summary.title = _("Summary")[:31]
    _facts(summary, _group_facts(report))
    disciplines = book.create_sheet("8D")
    disciplines.append([_("Discipline"), _("Date"), _("What was done")])
    for discipline in report.disciplines:
        disciplines.append(
            [
                _text(discipline.label),
                discipline.date,
                _text(discipline.text),
            ]
        )
    _incident_lines(book.create_sheet(_("Evidence")[:31]), report.evidence)
    _styled(book)
    return _saved(book)


def report_xlsx(report: Report) -> bytes:
    return _saved(report_book(report))


def report_book(report: Report):
    """The incident's report as an openpyxl workbook (a group's report copies its sheets)."""
    import openpyxl

    book = openpyxl.Workbook()
    incident, device = report.incident, report.incident.device

    summary = book.active
    summary.title = _("Summary")[:31]
    _facts(
        summary,
        (
            (_("Incident"), f"#{incident.pk}"),
            (_("Serial number"), device.serial_number),
            (_("Project"), device.project),
            (
                _("Hardware · ROM · config"),
                " · ".join(
                    v for v in (device.hardware_version, device.rom_version, device.config) if v
                ),
            ),
            (_("Fail station"), incident.fail_station),
            (_("Fail item"), incident.fail_item),
            (_("Test log"), incident.test_log_url),
            (_("Failed at"), incident.failed_at),
            (_("Problem group"), incident.problem_group or ""),
            (_("Description"), incident.description),
            (_("Opened"), incident.opened_at),
            (_("Disposition"), report.disposition),
            (_("Report generated"), report.generated_at),
        ),
    )

    stages = book.create_sheet(_("Stages")[:31])
    stages.append([_("Stage"), _("Entered"), _("Left"), _("Assigned to")])
    for visit in report.visits:
        stages.append(
            [
                _text(visit.stage.label),
                _when(visit.entered),
                _when(visit.left),
                _text(", ".join(visit.people)),
            ]
        )

    timeline = book.create_sheet(_("Timeline")[:31])
    timeline.append(
        [
            _("At"),
            _("Action"),
            _("By"),
            _("From stage"),
            _("To stage"),
            _("Assigned to"),
            _("Verdict"),
            _("Comment"),
        ]
    )
    for event in sorted(report.timeline, key=lambda e: (e.created_at, e.id)):
        timeline.append(
            [
                _when(event.created_at),
                _text(event.get_action_display()),
                _text(_by(event)),
                _text(event.get_from_stage_display()),
                _text(event.get_to_stage_display()),
                _text(event.assignee.get_full_name() if event.assignee else ""),
                _text(event.get_verdict_display()),
                _text(event.comment),
            ]
        )

    work = book.create_sheet(_("Records and results")[:31])
    work.append(
        [
            _("Stage"),
            _("Round"),
            _("Kind"),
            _("At"),
            _("By"),
            _("What"),
            _("Verdict"),
            _("Attachments"),
        ]
    )
    for group in report.record_groups:
        for record in group["records"]:
            work.append(
                [
                    _text(group["stage"].label),
                    record.round,
                    _text(_("Operation record")),
                    _when(record.created_at),
                    _text(record.created_by.get_full_name()),
                    _text("\n".join(v for v in (record.action, record.notes) if v)),
                    "",
                    _text(", ".join(a.original_name for a in record.attachments.all())),
                ]
            )
        for result in group["results"]:
            work.append(
                [
                    _text(group["stage"].label),
                    result.round,
                    _text(_("Analysis result")),
                    _when(result.created_at),
                    _text(result.created_by.get_full_name()),
                    _text(result.findings),
                    _text(result.get_verdict_display()),
                    "",
                ]
            )
        for evidence in group["evidence"]:
            work.append(
                [
                    _text(group["stage"].label),
                    "",
                    _text(_("Chat evidence")),
                    _when(evidence.marked_at),
                    _text(evidence.marked_by.get_full_name() if evidence.marked_by else ""),
                    _text(evidence.marked_text),
                    "",
                    _text(evidence.attachment.original_name if evidence.attachment else ""),
                ]
            )

    custody = book.create_sheet(_("Custody trail")[:31])
    custody.append(
        [_("At"), _("From"), _("To"), _("Holder before"), _("Holder after"), _("By"), _("Reason")]
    )
    for entry in sorted(report.trail, key=lambda e: e.at):
        custody.append(
            [
                _when(entry.at),
                _text(entry.from_location or ""),
                _text(entry.to_location or ""),
                _text(entry.from_holder.get_full_name() if entry.from_holder else ""),
                _text(entry.to_holder.get_full_name() if entry.to_holder else ""),
                _text(entry.by.get_full_name() if entry.by else ""),
                _text(entry.reason_text),
            ]
        )
    _styled(book)
    return book
