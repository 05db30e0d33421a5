from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import RelatedDropdownFilter
from unfold.contrib.import_export.forms import ExportForm
from unfold.decorators import display
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from config.history_admin import KeptInTrailsAdminMixin
from config.spreadsheets import SpreadsheetAdminMixin
from incidents import services
from incidents.admin.inlines import ReadOnlyInline
from incidents.choices import Role
from incidents.models import (
    AnalysisResult,
    Department,
    Employee,
    IncidentEvent,
    OperationRecord,
    StageOwnership,
)
from incidents.resources import EmployeeResource
from locations.label_admin import LabelAdminMixin
from locations.models import Device

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


class HeldDeviceInline(ReadOnlyInline):
    model = Device
    fk_name = "holder"
    fields = ["serial_number", "project", "location", "fail_item"]
    verbose_name_plural = _("devices held now")


@admin.register(Employee)
class EmployeeAdmin(
    KeptInTrailsAdminMixin,
    LabelAdminMixin,
    SpreadsheetAdminMixin,
    ImportExportModelAdmin,
    BaseUserAdmin,
    ModelAdmin,
):
    resource_classes = [EmployeeResource]
    export_form_class = ExportForm
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
    inlines = [HeldDeviceInline]
    actions = ["print_labels", "deactivate_selected"]
    trail_models = (IncidentEvent, OperationRecord, AnalysisResult)
    actions_detail = ["label_png_action", "label_svg_action"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            _("Person"),
            {"fields": ("employee_number", "display_name", "email", "department", "language")},
        ),
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

    # Colleagues see one another as on a badge (name, number, department); accounts (usernames,
    # roles, last logins) and the list as a file are for whoever manages people.
    colleague_list_display = ["employee_number", "display_name", "department"]
    colleague_fieldsets = ((None, {"fields": ("employee_number", "display_name", "department")}),)

    def manages_people(self, request) -> bool:
        return request.user.has_perm("incidents.change_employee")

    def get_list_display(self, request):
        if self.manages_people(request):
            return super().get_list_display(request)
        return self.colleague_list_display

    def get_list_filter(self, request):
        if self.manages_people(request):
            return super().get_list_filter(request)
        return [("department", RelatedDropdownFilter)]

    def get_search_fields(self, request):
        if self.manages_people(request):
            return super().get_search_fields(request)
        return ["employee_number", "display_name"]

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not self.manages_people(request):
            return self.colleague_fieldsets
        return super().get_fieldsets(request, obj)

    def has_export_permission(self, request) -> bool:
        return self.manages_people(request) and super().has_export_permission(request)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    # Only a superuser makes a superuser, or changes one; roles carry everyone else's rights.
    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["is_superuser", "user_permissions"]
        return readonly

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def deactivate(self, request, obj: Employee) -> str | None:
        try:
            services.employee_deactivate(employee=obj, by=request.user)
        except services.WorkflowError as error:
            return error.message
        return None

    @display(description=_("roles"))
    def roles(self, employee: Employee) -> str:
        labels = dict(Role.choices)
        names = [str(labels.get(group.name, group.name)) for group in employee.groups.all()]
        if employee.is_superuser:
            names.insert(0, str(_("Superuser")))
        return ", ".join(names) or "—"


class EmployeeInline(ReadOnlyInline):
    model = Employee
    fields = ["employee_number", "display_name", "username", "is_active"]
    verbose_name_plural = _("members")


@admin.register(Department)
class DepartmentAdmin(ModelAdmin):
    list_display = ["code", "department_name", "supervisor_names", "member_count", "stages"]
    list_display_links = ["code", "department_name"]
    search_fields = ["code", "name", "name_zh"]
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
        # The supervisors (the form's only many-to-many) go through the service, which also
        # takes the role from whoever is taken off; the inlines save as usual.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
        services.department_set_supervisors(
            department=form.instance, supervisors=list(form.cleaned_data["supervisors"])
        )

    @display(description=_("name"))
    def department_name(self, department: Department) -> str:
        return department.localized_name

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
    list_display = ["stage_label", "department", "work_location"]
    list_editable = ["department", "work_location"]
    list_display_links = ["stage_label"]
    autocomplete_fields = ["department", "work_location"]
    search_fields = ["stage", "department__name", "department__name_zh", "department__code"]
    list_select_related = ["department", "work_location"]

    @display(description=_("stage"), ordering="stage")
    def stage_label(self, ownership: StageOwnership) -> str:
        return ownership.get_stage_display()
