"""Forms behind the workflow buttons. Each parses input and calls one service; the services
decide what is allowed."""

from collections.abc import Sequence

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.widgets import (
    UnfoldAdminSelectWidget,
    UnfoldAdminTextareaWidget,
    UnfoldAdminTextInputWidget,
    UnfoldBooleanSwitchWidget,
)

from config.kit.uploads import RefusedUpload
from config.kit.widgets import DropFileInput
from incidents import rules, selectors, services
from incidents.choices import NEXT_STAGE, STAGE_VERDICTS, Verdict
from incidents.models import Employee, Incident, OperationRecord, ProblemGroup


def _textarea(rows: int = 3) -> forms.Textarea:
    return UnfoldAdminTextareaWidget(attrs={"rows": rows})


class WorkflowForm(forms.Form):
    """Base of the per-incident forms: remembers the state the person saw when they opened it."""

    expected_stage = forms.CharField(widget=forms.HiddenInput)
    expected_step = forms.CharField(widget=forms.HiddenInput)
    submit_label = _("Confirm")

    def __init__(
        self,
        *args,
        incident: Incident,
        refused_uploads: Sequence[RefusedUpload] = (),
        **kwargs,
    ):
        kwargs.setdefault(
            "initial", {"expected_stage": incident.stage, "expected_step": incident.step}
        )
        super().__init__(*args, **kwargs)
        self.incident = incident
        self.refused_uploads = refused_uploads

    @property
    def expected(self) -> tuple[str, str]:
        return self.cleaned_data["expected_stage"], self.cleaned_data["expected_step"]

    # The service this form calls, and which cleaned fields it passes on by name.
    service = None
    passes: tuple[str, ...] = ()

    def perform(self, *, by: Employee):
        arguments = {name: self.cleaned_data.get(name, "") for name in self.passes}
        return type(self).service(
            incident=self.incident, by=by, expected=self.expected, **arguments
        )


class WorkloadChoiceField(forms.ModelChoiceField):
    """People to choose from, each shown with the open incidents they carry already."""

    def label_from_instance(self, person: Employee) -> str:
        count = getattr(person, "open_workload", 0)
        return ngettext(
            "%(person)s · %(count)d open incident",
            "%(person)s · %(count)d open incidents",
            count,
        ) % {"person": person, "count": count}


class AssignForm(WorkflowForm):
    assignee = WorkloadChoiceField(
        label=_("Assignee"),
        queryset=Employee.objects.none(),
        widget=UnfoldAdminSelectWidget,
        help_text=_("After each name: the open incidents assigned to that person now."),
    )
    comment = forms.CharField(label=_("Note for the assignee"), required=False, widget=_textarea(2))
    hand_over_device = forms.BooleanField(
        label=_("The assignee takes the device now"),
        required=False,
        widget=UnfoldBooleanSwitchWidget,
        help_text=_("Records the hand-over in the device's trail."),
    )
    submit_label = _("Assign")
    service = staticmethod(services.incident_assign)
    passes = ("assignee", "comment", "hand_over_device")

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, incident=incident, **kwargs)
        self.fields["assignee"].queryset = selectors.with_open_workload(
            rules.assignable_people(incident)
        )
        if incident.assignee_id:
            self.fields["assignee"].initial = incident.assignee_id


class SubmitForm(WorkflowForm):
    comment = forms.CharField(label=_("Note for the reviewer"), required=False, widget=_textarea(2))
    submit_label = _("Submit for review")
    service = staticmethod(services.incident_submit)
    passes = ("comment",)


class ApproveForm(WorkflowForm):
    comment = forms.CharField(label=_("Comment"), required=False, widget=_textarea(2))
    submit_label = _("Approve")
    service = staticmethod(services.incident_approve)
    passes = ("comment",)

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, incident=incident, **kwargs)
        next_stage = incident.next_stage()
        self.next_stage = next_stage.label if next_stage else None


class RejectForm(WorkflowForm):
    reason = forms.CharField(label=_("Why is it sent back?"), widget=_textarea(3))
    submit_label = _("Send back")
    service = staticmethod(services.incident_reject)
    passes = ("reason",)


class CancelForm(WorkflowForm):
    reason = forms.CharField(label=_("Why is it cancelled?"), widget=_textarea(3))
    submit_label = _("Cancel incident")
    service = staticmethod(services.incident_cancel)
    passes = ("reason",)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class OperationRecordForm(WorkflowForm):
    action = forms.CharField(
        label=_("Action taken"),
        max_length=200,
        widget=UnfoldAdminTextInputWidget,
        help_text=_("e.g. Retest on station RF-OTA, X-ray scan of the shield can, reflow of U12"),
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=_textarea(4))
    files = MultipleFileField(
        label=_("Attachments"),
        required=False,
        widget=DropFileInput(multiple=True, max_bytes=settings.ATTACHMENT_MAX_BYTES),
        help_text=_("Logs, photos, X-ray images; several files at once."),
    )
    submit_label = _("Add operation record")
    service = staticmethod(services.operation_record_add)
    passes = ("action", "notes", "files")

    def clean(self):
        cleaned_data = super().clean()
        # A file over the upload limit never arrived: refuse the record rather than keep it
        # without the file.
        for upload in self.refused_uploads:
            self.add_error("files", upload.message(settings.ATTACHMENT_MAX_BYTES))
        return cleaned_data


class AnalysisResultForm(WorkflowForm):
    findings = forms.CharField(label=_("Findings"), widget=_textarea(4))
    verdict = forms.ChoiceField(
        label=_("Verdict"),
        widget=UnfoldAdminSelectWidget,
        help_text=_("Decides where the incident goes when the stage is approved."),
    )
    operation_record = forms.ModelChoiceField(
        label=_("Based on operation record"),
        queryset=OperationRecord.objects.none(),
        required=False,
        widget=UnfoldAdminSelectWidget,
    )
    submit_label = _("Add analysis result")
    service = staticmethod(services.analysis_result_add)
    passes = ("findings", "verdict", "operation_record")

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, incident=incident, **kwargs)
        verdicts = STAGE_VERDICTS.get(incident.stage, ())
        if verdicts:
            self.fields["verdict"].choices = [("", _("Choose the verdict…"))] + [
                (v, f"{Verdict(v).label} → {NEXT_STAGE[(incident.stage, v)].label}")
                for v in verdicts
            ]
        else:
            del self.fields["verdict"]
        self.fields["operation_record"].queryset = incident.operation_records.filter(
            stage=incident.stage
        )


# --- changelist (bulk) forms ------------------------------------------------------------------
class BulkAssignForm(forms.Form):
    """One person for many incidents. Offered: whoever may take the stage of at least one of
    them (as the single assign form offers, rules.assignable_people), with their open workload
    and, when they may not take every one, how many; the service refuses the others, and
    anyone not offered, incident by incident."""

    assignee = WorkloadChoiceField(
        label=_("Assignee"),
        # Anyone active is accepted here, so that someone not offered is refused by the
        # service for each incident, with the reason; only those offered are listed.
        queryset=Employee.objects.filter(is_active=True),
        widget=UnfoldAdminSelectWidget,
        help_text=_(
            "People who may take the incidents' stages. After each name: the open incidents "
            "assigned to that person now, and how many of the selected ones they may take "
            "when not all."
        ),
    )
    comment = forms.CharField(label=_("Note for the assignee"), required=False, widget=_textarea(2))

    def __init__(self, *args, incidents=(), **kwargs):
        super().__init__(*args, **kwargs)
        takes, selected = selectors.assignable_to_any(incidents)
        offered = selectors.with_open_workload(
            Employee.objects.filter(pk__in=takes).order_by("display_name", "employee_number")
        )
        field = self.fields["assignee"]
        field.empty_label = _("Choose the assignee…") if offered else _("Nobody may take them")
        choices = [("", field.empty_label)]
        for person in offered:
            label = field.label_from_instance(person)
            if takes[person.pk] < selected:
                label = _("%(person)s · may take %(count)d of the %(selected)d selected") % {
                    "person": label,
                    "count": takes[person.pk],
                    "selected": selected,
                }
            choices.append((person.pk, label))
        field.widget.choices = choices
        self.offered = offered


class BulkReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=_textarea(3))


class BulkProblemGroupForm(forms.Form):
    problem_group = forms.ModelChoiceField(
        label=_("Problem group"),
        queryset=ProblemGroup.objects.all(),
        required=False,
        widget=UnfoldAdminSelectWidget,
        help_text=_("Leave empty to take the incidents out of their problem group."),
    )
