from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import (
    ChoicesCheckboxFilter,
    RangeDateTimeFilter,
    RelatedDropdownFilter,
)
from unfold.decorators import display
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from incidents import services
from incidents.choices import OPEN_STAGES, TERMINAL_STAGES, ProblemGroupStatus, Role, Stage
from incidents.models import Department, Employee, Incident, ProblemGroup, StageOwnership

STAGE_COLORS = {
    Stage.REPORTED: "warning",
    Stage.FAE_RETEST: "info",
    Stage.XRAY: "info",
    Stage.EE_ANALYSIS: "info",
    Stage.ME_ANALYSIS: "info",
    Stage.FINAL_RETEST: "info",
    Stage.RETURNED: "success",
    Stage.SCRAPPED: "danger",
    Stage.CANCELLED: "default",
}
PROBLEM_GROUP_COLORS = {
    ProblemGroupStatus.OPEN: "warning",
    ProblemGroupStatus.INVESTIGATING: "info",
    ProblemGroupStatus.RESOLVED: "success",
    ProblemGroupStatus.CLOSED: "default",
}

admin.site.unregister(Group)


@admin.register(Group)
class RoleAdmin(BaseGroupAdmin, ModelAdmin):
    search_fields = ["name"]


class EmployeeCreationForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = Employee
        fields = ("username", "employee_number", "display_name", "email", "department")


class EmployeeChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = Employee


@admin.register(Employee)
class EmployeeAdmin(BaseUserAdmin, ModelAdmin):
    form = EmployeeChangeForm
    add_form = EmployeeCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = [
        "employee_number",
        "display_name",
        "username",
        "department",
        "roles",
        "is_active",
        "last_login",
    ]
    list_display_links = ["employee_number", "display_name"]
    list_filter = [
        ("department", RelatedDropdownFilter),
        "groups",
        "is_active",
        "is_superuser",
    ]
    search_fields = ["employee_number", "display_name", "username", "email"]
    ordering = ["employee_number"]
    autocomplete_fields = ["department"]
    list_select_related = ["department"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("employee_number", "display_name", "email", "department")}),
        (
            _("Roles and permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "employee_number",
                    "display_name",
                    "email",
                    "department",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @display(description=_("roles"))
    def roles(self, employee: Employee) -> str:
        labels = dict(Role.choices)
        names = [str(labels.get(group.name, group.name)) for group in employee.groups.all()]
        if employee.is_superuser and str(Role.ADMIN.label) not in names:
            names.insert(0, str(Role.ADMIN.label))
        return ", ".join(names) or "—"


class EmployeeInline(TabularInline):
    model = Employee
    fields = ["employee_number", "display_name", "username", "is_active"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("members")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Department)
class DepartmentAdmin(ModelAdmin):
    list_display = ["code", "name", "supervisor_names", "member_count", "stages"]
    list_display_links = ["code", "name"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["supervisors"]
    inlines = [EmployeeInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(member_count=Count("employees", distinct=True))
            .prefetch_related("supervisors", "owned_stages")
        )

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        services.department_set_supervisors(
            department=form.instance, supervisors=list(form.cleaned_data["supervisors"])
        )

    @display(description=_("supervisors"))
    def supervisor_names(self, department: Department) -> str:
        return ", ".join(s.get_full_name() for s in department.supervisors.all()) or "—"

    @display(description=_("members"), ordering="member_count")
    def member_count(self, department: Department) -> int:
        return department.member_count

    @display(description=_("owned stages"))
    def stages(self, department: Department) -> str:
        return ", ".join(str(o.get_stage_display()) for o in department.owned_stages.all()) or "—"


@admin.register(StageOwnership)
class StageOwnershipAdmin(ModelAdmin):
    list_display = ["stage_label", "department"]
    list_editable = ["department"]
    list_display_links = ["stage_label"]
    autocomplete_fields = ["department"]
    search_fields = ["stage", "department__name", "department__code"]
    list_select_related = ["department"]

    @display(description=_("stage"), ordering="stage")
    def stage_label(self, ownership: StageOwnership) -> str:
        return ownership.get_stage_display()


class ProblemGroupIncidentInline(TabularInline):
    model = Incident
    fields = ["device", "stage", "opened_at", "reporter"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ProblemGroup)
class ProblemGroupAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ["number", "title", "status_label", "open_count", "incident_count", "created_at"]
    list_display_links = ["number", "title"]
    list_filter = [("status", ChoicesCheckboxFilter), ("created_at", RangeDateTimeFilter)]
    list_filter_submit = True
    search_fields = ["number", "title", "description"]
    inlines = [ProblemGroupIncidentInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                incident_count=Count("incidents", distinct=True),
                open_count=Count(
                    "incidents", filter=Q(incidents__stage__in=OPEN_STAGES), distinct=True
                ),
            )
        )

    @display(description=_("status"), ordering="status", label=PROBLEM_GROUP_COLORS)
    def status_label(self, group: ProblemGroup):
        return group.status, group.get_status_display()

    @display(description=_("incidents"), ordering="incident_count")
    def incident_count(self, group: ProblemGroup) -> int:
        return group.incident_count

    @display(description=_("open"), ordering="open_count")
    def open_count(self, group: ProblemGroup) -> int:
        return group.open_count


class IncidentAddForm(forms.ModelForm):
    class Meta:
        model = Incident
        fields = ["device", "reporter", "problem_group", "description", "opened_at"]

    def clean_device(self):
        device = self.cleaned_data["device"]
        if device.incidents.filter(stage__in=OPEN_STAGES).exists():
            raise forms.ValidationError(
                _("Device %(serial)s already has an open incident."),
                params={"serial": device.serial_number},
            )
        return device


@admin.register(Incident)
class IncidentAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = [
        "number",
        "device",
        "stage_label",
        "stage_age",
        "problem_group_number",
        "fail_item",
        "reporter_name",
        "opened_at",
    ]
    list_display_links = ["number", "device"]
    list_filter = [
        ("stage", ChoicesCheckboxFilter),
        ("problem_group", RelatedDropdownFilter),
        ("opened_at", RangeDateTimeFilter),
    ]
    list_filter_submit = True
    search_fields = [
        "=id",
        "device__serial_number",
        "device__project",
        "device__fail_item",
        "problem_group__number",
        "description",
    ]
    autocomplete_fields = ["device", "reporter", "problem_group"]
    list_select_related = ["device", "problem_group", "reporter"]
    readonly_fields = ["current_stage", "stage_entered_at", "closed_at"]
    date_hierarchy = "opened_at"
    fieldsets = (
        (None, {"fields": ("device", "current_stage", "problem_group", "description")}),
        (_("Dates"), {"fields": ("reporter", "opened_at", "stage_entered_at", "closed_at")}),
    )

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = IncidentAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": IncidentAddForm.Meta.fields}),)
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        readonly = [*self.readonly_fields, "device", "opened_at"]
        if obj.stage in TERMINAL_STAGES:
            readonly.append("reporter")
        return readonly

    def get_changeform_initial_data(self, request):
        return {"reporter": request.user.pk, "opened_at": timezone.now()}

    def save_form(self, request, form, change):
        if change:
            return super().save_form(request, form, change)
        data = form.cleaned_data
        return services.incident_open(
            device=data["device"],
            reporter=data["reporter"],
            problem_group=data["problem_group"],
            description=data["description"],
            opened_at=data["opened_at"],
        )

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:
        # On add, incident_open already saved everything the add form carries.
        if change:
            super().save_related(request, form, formsets, change)

    @display(description=_("incident"), ordering="id")
    def number(self, incident: Incident) -> str:
        return f"#{incident.pk}"

    @display(description=_("stage"), ordering="stage", label=STAGE_COLORS)
    def stage_label(self, incident: Incident):
        return incident.stage, incident.get_stage_display()

    @display(description=_("stage"))
    def current_stage(self, incident: Incident) -> str:
        return incident.get_stage_display()

    @display(description=_("in stage for"), ordering="stage_entered_at")
    def stage_age(self, incident: Incident) -> str:
        if not incident.is_open:
            return "—"
        return timesince(incident.stage_entered_at, depth=1)

    @display(description=_("problem group"), ordering="problem_group__number")
    def problem_group_number(self, incident: Incident) -> str:
        return incident.problem_group.number if incident.problem_group else "—"

    @display(description=_("reporter"), ordering="reporter__display_name")
    def reporter_name(self, incident: Incident) -> str:
        return incident.reporter.get_full_name() if incident.reporter else "—"

    @display(description=_("fail item"), ordering="device__fail_item")
    def fail_item(self, incident: Incident) -> str:
        return incident.device.fail_item
