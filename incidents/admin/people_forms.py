"""The forms of the people and departments pages: they read what was posted and ask the services
(incidents/services/people.py, departments.py) whether it may be saved; the rules live there."""

import copy

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Q
from django.forms.models import construct_instance
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from unfold.forms import UserChangeForm, UserCreationForm
from unfold.widgets import UnfoldAdminSelect2MultipleWidget, UnfoldAdminSelectWidget

from incidents import selectors, services
from incidents.choices import TargetUnit
from incidents.models import Department, Employee, StageOwnership
from incidents.services.deadlines import stage_target_refusal

# The hand-over choice that sends a person's open incidents back to the queue.
BACK_TO_QUEUE = "queue"


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """A service's refusal on the form: on the fields it names when the form has them."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else NON_FIELD_ERRORS, errors)


def as_saved(form: forms.ModelForm):
    """A copy of the form's record with the values the form would save, for a service's check
    from the form's `clean()` (the form's own record is filled in only after it)."""
    return construct_instance(form, copy.copy(form.instance))


class EmployeeCreationForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = Employee
        fields = ("username", "employee_number", "display_name", "email", "department")

    def clean_department(self):
        department = self.cleaned_data["department"]
        try:
            services.employee_move_check(employee=self.instance, department=department)
        except services.WorkflowError as error:
            raise ValidationError(error.message) from error
        return department


class EmployeeChangeForm(UserChangeForm):
    """A person's account. When they have open incidents assigned, the form lists them and asks
    who takes over those the new department cannot take, should the department change (a
    colleague of the department they leave, its supervisor unless someone else is picked, or
    nobody: back to the queue)."""

    by: Employee | None = None

    hand_over_to = forms.ChoiceField(
        label=_("hand their open incidents to"),
        required=False,
        widget=UnfoldAdminSelectWidget,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "hand_over_to" not in self.fields:
            return
        person = self.instance
        assignments = list(selectors.open_assignments(person)) if person.pk else []
        if not assignments:
            del self.fields["hand_over_to"]
            return
        field = self.fields["hand_over_to"]
        field.choices = [
            (BACK_TO_QUEUE, _("Nobody: back to the queue of the stage's department")),
            *((str(p.pk), str(p)) for p in selectors.hand_over_candidates(person)),
        ]
        default = selectors.hand_over_default(person)
        field.initial = str(default.pk) if default else BACK_TO_QUEUE
        field.help_text = format_html(
            '{}<ul class="list-disc ml-5">{}</ul>',
            _(
                "Used when the department changes: the incidents below that the new department "
                "cannot take are handed over as they stand, each on its timeline."
            ),
            format_html_join(
                "",
                '<li><a class="underline" href="{}">#{} · {} · {} · {}</a></li>',
                (
                    (
                        reverse("admin:incidents_incident_change", args=[incident.pk]),
                        incident.pk,
                        incident.device.serial_number,
                        incident.get_stage_display(),
                        incident.get_step_display(),
                    )
                    for incident in assignments
                ),
            ),
        )

    def _check_own_roles(self, data) -> None:
        """Nobody takes the capability to manage people away from themselves (they could not
        undo it): someone else does."""
        by = getattr(self, "by", None)
        if by is None or by.pk != self.instance.pk or "groups" not in self.changed_data:
            return
        before = selectors.role_permissions_of(by)
        if not selectors.manages_people_with(by, before):
            return
        after = {
            role.pk: selectors.role_permission_names(role) for role in data.get("groups") or []
        }
        if not selectors.manages_people_with(by, after):
            self.add_error(
                "groups",
                _(
                    "These roles would stop you managing people, this page included: someone "
                    "else who manages people changes your own roles."
                ),
            )

    def hand_over_choice(self):
        """Who takes the person's open incidents: an employee, None for the queue, or
        services.UNDECIDED when the form did not ask."""
        if "hand_over_to" not in self.fields:
            return services.UNDECIDED
        value = self.cleaned_data.get("hand_over_to")
        if value == BACK_TO_QUEUE:
            return None
        return Employee.objects.filter(pk=value).first() if value else services.UNDECIDED

    def clean(self):
        data = super().clean()
        self._check_own_roles(data)
        if "department" not in self.changed_data or "department" not in data:
            return data
        if "hand_over_to" in self.fields and not data.get("hand_over_to"):
            self.add_error(
                "hand_over_to",
                _("Say who takes over their open incidents, or send them back to the queue."),
            )
            return data
        try:
            services.employee_move_check(
                employee=self.instance,
                department=data["department"],
                by=self.by,
                hand_over_to=self.hand_over_choice(),
            )
        except services.WorkflowError as error:
            self.add_error("department", error.message)
        return data

    class Meta(UserChangeForm.Meta):
        model = Employee


class DepartmentForm(forms.ModelForm):
    """A department with its supervisors and its members, as the services may save it."""

    by: Employee | None = None

    members = forms.ModelMultipleChoiceField(
        queryset=Employee.objects.none(),
        required=False,
        label=_("members"),
        widget=UnfoldAdminSelect2MultipleWidget,
        help_text=_(
            "The people who work in the department. Someone with open incidents the department "
            "cannot take moves on their own page, which asks who takes their work over."
        ),
    )

    class Meta:
        model = Department
        fields = ["code", "name", "name_zh", "description", "is_active", "supervisors"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        department = self.instance
        members = Q(department=department.pk) if department.pk else Q(pk__in=[])
        self.fields["members"].queryset = Employee.objects.filter(
            Q(is_active=True) | members
        ).order_by("display_name", "employee_number")
        if department.pk:
            self.fields["members"].initial = list(department.employees.values_list("pk", flat=True))

    def clean(self):
        cleaned_data = super().clean()
        if self.errors:
            return cleaned_data
        try:
            services.department_check(
                department=as_saved(self),
                by=self.by,
                supervisors=list(self.cleaned_data.get("supervisors") or []),
                members=list(self.cleaned_data.get("members") or []),
            )
        except ValidationError as error:
            add_service_errors(self, error)
        return cleaned_data


class StageOwnershipForm(forms.ModelForm):
    """Which department owns a stage, as the services allow it (the page and the list's
    editable columns alike)."""

    class Meta:
        model = StageOwnership
        fields = ["stage", "department", "work_location", "target", "target_unit"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "target_unit" in self.fields:
            # Left out (a form of before the targets, the list's editable columns): days.
            self.fields["target_unit"].required = False

    def clean_target_unit(self) -> str:
        return self.cleaned_data.get("target_unit") or TargetUnit.DAYS

    def clean(self):
        cleaned_data = super().clean()
        if refusal := stage_target_refusal(
            cleaned_data.get("target"), cleaned_data.get("target_unit")
        ):
            self.add_error("target", refusal)
        if self.errors:
            return cleaned_data
        try:
            services.stage_ownership_check(ownership=as_saved(self))
        except ValidationError as error:
            add_service_errors(self, error)
        return cleaned_data
