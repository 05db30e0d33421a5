"""The failure-analysis report of an incident, the document sent to a customer or a supplier:
the device, the stages with who and when, every operation record and analysis result with its
verdict, the attachments (images embedded), what the chat marked as evidence, the custody
trail and the final disposition. PDF (WeasyPrint rendering templates/incidents/report/
incident.html) and XLSX (openpyxl), in the active language.

WeasyPrint renders the product's own HTML and CSS, so the report looks like the product and
Chinese text comes out as text (searchable, copyable) with the CJK font the setup installs.
"""

import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from incidents.choices import TERMINAL_STAGES, Stage, WorkflowAction
from incidents.models import Incident, IncidentEvent, ProblemGroup
from incidents.selectors import incident_records_by_stage, incident_timeline
from locations.selectors import device_trail


@dataclass
class StageVisit:
    stage: Stage
    entered: datetime
    left: datetime | None = None
    people: list[str] = field(default_factory=list)


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
        if self.incident.stage in TERMINAL_STAGES:
            return _("%(outcome)s on %(at)s") % {
                "outcome": self.incident.get_stage_display(),
                "at": date_format(timezone.localtime(self.incident.closed_at), "DATETIME_FORMAT")
                if self.incident.closed_at
                else "—",
            }
        return _("Open: %(stage)s, %(step)s") % {
            "stage": self.incident.get_stage_display(),
            "step": self.incident.get_step_display(),
        }


def _visits(timeline: list[IncidentEvent]) -> list[StageVisit]:
    """The stages in the order they were worked, with when and by whom (oldest first)."""
    visits: list[StageVisit] = []
    for event in sorted(timeline, key=lambda e: (e.created_at, e.id)):
        if event.action == WorkflowAction.OPEN or event.from_stage != event.to_stage:
            if visits and visits[-1].left is None:
                visits[-1].left = event.created_at
            visits.append(StageVisit(stage=Stage(event.to_stage), entered=event.created_at))
        if event.assignee and visits:
            name = event.assignee.get_full_name()
            if name not in visits[-1].people:
                visits[-1].people.append(name)
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


@dataclass
class GroupReport:
    group: ProblemGroup
    reports: list[Report]
    generated_at: datetime

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for report in self.reports:
            label = str(report.incident.get_stage_display())
            counts[label] = counts.get(label, 0) + 1
        return counts


def problem_group_report(group: ProblemGroup) -> GroupReport:
    incidents = group.incidents.select_related("device", "reporter", "problem_group").order_by(
        "opened_at", "pk"
    )
    return GroupReport(
        group=group,
        reports=[incident_report(incident) for incident in incidents],
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
    # Images are read from the storage's files (file:// under MEDIA_ROOT), never fetched.
    return weasyprint.HTML(string=html, base_url=str(Path.cwd())).write_pdf()


def report_pdf(report: Report) -> bytes:
    return _pdf("incidents/report/incident.html", {"report": report})


def group_report_pdf(report: GroupReport) -> bytes:
    return _pdf("incidents/report/problem_group.html", {"group_report": report})


def group_report_xlsx(report: GroupReport) -> bytes:
    """The group's incidents one per row, then each incident's report sheets after it."""
    import openpyxl

    from config.spreadsheets import escape_formula

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = _("Incidents")[:31]
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
    for item in report.reports:
        incident = item.incident
        sheet.append(
            [
                f"#{incident.pk}",
                escape_formula(incident.device.serial_number),
                escape_formula(incident.device.project),
                escape_formula(incident.device.fail_item),
                str(incident.get_stage_display()),
                date_format(timezone.localtime(incident.opened_at), "DATETIME_FORMAT"),
                item.disposition,
            ]
        )
    for item in report.reports:
        single = openpyxl.load_workbook(io.BytesIO(report_xlsx(item)))
        for source in single.worksheets:
            target = book.create_sheet(f"#{item.incident.pk} {source.title}"[:31])
            for row in source.iter_rows(values_only=True):
                target.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def report_xlsx(report: Report) -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    from config.spreadsheets import escape_formula

    def text(value) -> str:
        return escape_formula(str(value)) if value not in (None, "") else ""

    def when(value) -> str:
        return date_format(timezone.localtime(value), "DATETIME_FORMAT") if value else ""

    book = openpyxl.Workbook()
    bold = Font(bold=True)
    incident, device = report.incident, report.incident.device

    summary = book.active
    summary.title = _("Summary")[:31]
    for label, value in (
        (_("Incident"), f"#{incident.pk}"),
        (_("Serial number"), device.serial_number),
        (_("Project"), device.project),
        (
            _("Hardware · ROM · config"),
            " · ".join(
                v for v in (device.hardware_version, device.rom_version, device.config) if v
            ),
        ),
        (_("Fail station"), device.fail_station),
        (_("Fail item"), device.fail_item),
        (_("Test log"), device.test_log_url),
        (_("Problem group"), incident.problem_group or ""),
        (_("Description"), incident.description),
        (_("Opened"), when(incident.opened_at)),
        (_("Disposition"), report.disposition),
        (_("Report generated"), when(report.generated_at)),
    ):
        summary.append([text(label), text(value)])
        summary.cell(summary.max_row, 1).font = bold

    stages = book.create_sheet(_("Stages")[:31])
    stages.append([_("Stage"), _("Entered"), _("Left"), _("Assigned to")])
    for visit in report.visits:
        stages.append(
            [
                text(visit.stage.label),
                when(visit.entered),
                when(visit.left),
                text(", ".join(visit.people)),
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
                when(event.created_at),
                text(event.get_action_display()),
                text(event.actor.get_full_name() if event.actor else ""),
                text(event.get_from_stage_display()),
                text(event.get_to_stage_display()),
                text(event.assignee.get_full_name() if event.assignee else ""),
                text(event.get_verdict_display()),
                text(event.comment),
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
                    text(group["stage"].label),
                    record.round,
                    text(_("Operation record")),
                    when(record.created_at),
                    text(record.created_by.get_full_name()),
                    text("\n".join(v for v in (record.action, record.notes) if v)),
                    "",
                    text(", ".join(a.original_name for a in record.attachments.all())),
                ]
            )
        for result in group["results"]:
            work.append(
                [
                    text(group["stage"].label),
                    result.round,
                    text(_("Analysis result")),
                    when(result.created_at),
                    text(result.created_by.get_full_name()),
                    text(result.findings),
                    text(result.get_verdict_display()),
                    "",
                ]
            )
        for evidence in group["evidence"]:
            work.append(
                [
                    text(group["stage"].label),
                    "",
                    text(_("Chat evidence")),
                    when(evidence.marked_at),
                    text(evidence.marked_by.get_full_name() if evidence.marked_by else ""),
                    text(evidence.message.text),
                    "",
                    text(evidence.attachment.original_name if evidence.attachment else ""),
                ]
            )

    custody = book.create_sheet(_("Custody trail")[:31])
    custody.append(
        [_("At"), _("From"), _("To"), _("Holder before"), _("Holder after"), _("By"), _("Reason")]
    )
    for entry in sorted(report.trail, key=lambda e: e.at):
        custody.append(
            [
                when(entry.at),
                text(entry.from_location or ""),
                text(entry.to_location or ""),
                text(entry.from_holder.get_full_name() if entry.from_holder else ""),
                text(entry.to_holder.get_full_name() if entry.to_holder else ""),
                text(entry.by.get_full_name() if entry.by else ""),
                text(entry.reason_text),
            ]
        )
    for sheet in book.worksheets:
        for cell in sheet[1]:
            cell.font = bold
        for column in sheet.columns:
            sheet.column_dimensions[column[0].column_letter].width = 22
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
