from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import RelatedDropdownFilter
from unfold.contrib.import_export.forms import ExportForm
from unfold.decorators import action, display
from unfold.forms import AdminPasswordChangeForm

import incidents.admin.roles as role_pages
from config.kit.history_admin import KeptInTrailsAdminMixin
from config.kit.lists import LeanListMixin, SingleCountListMixin
from config.kit.search import BoundedSearchMixin
from config.kit.spreadsheets import SpreadsheetAdminMixin
from config.kit.widgets import AutocompleteKeysMixin
from incidents import rules, selectors, services
from incidents.admin.inlines import ReadOnlyInline
from incidents.admin.people_forms import (
    DepartmentForm,
    EmployeeChangeForm,
    EmployeeCreationForm,
    StageOwnershipForm,
)
from incidents.models import (
    AnalysisResult,
    ConfigChange,
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
class RoleAdmin(BoundedSearchMixin, SingleCountListMixin, BaseGroupAdmin, ModelAdmin):
    """Roles in words: what a role lets its people do as capabilities (incidents/capabilities.py),
    the permission list folded away for experts, and the role matrix. The built-in roles keep
    their names (the rules read them) and are never deleted."""

    form = role_pages.RoleForm
    search_fields = ["name"]
    list_display = ["role_name", "members", "capability_marks"]
    actions_list = ["role_matrix"]

    class Media:
        css = {"all": ["css/roles.css"]}

    def get_queryset(self, request):
        return selectors.with_members(super().get_queryset(request))

    def header_parts(self, context) -> list:
        """Settings > Roles > the role, not Django's "Authentication and Authorization >
        Groups" (config/kit/headers.py)."""
        parts = [
            (_("Settings"), None),
            (_("Roles"), reverse("admin:auth_group_changelist")),
        ]
        role = context.get("original")
        if isinstance(role, Group):
            parts.append((role_pages.role_label(role), None))
        elif context.get("add"):
            parts.append((_("Add role"), None))
        elif context.get("title") and context.get("cl") is None:
            parts.append((context["title"], None))
        return parts

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.by = request.user
        return form

    def get_fieldsets(self, request, obj=None):
        return role_pages.fieldsets(obj)

    def get_readonly_fields(self, request, obj=None):
        return ["name"] if role_pages.is_built_in(obj) else []

    def has_delete_permission(self, request, obj=None) -> bool:
        return not role_pages.is_built_in(obj) and super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        kept = role_pages.kept_roles(objs)
        if kept and super().has_delete_permission(request):
            # Refused for being built in, which the page says, not for lack of permission.
            perms_needed = perms_needed - {str(Group._meta.verbose_name)}
        return deleted, model_count, perms_needed, [*kept, *protected]

    def save_related(self, request, form, formsets, change) -> None:
        # The permission list first (what an expert edited), then the capabilities ticked or
        # unticked on top of it.
        super().save_related(request, form, formsets, change)
        services.role_change_capabilities(
            role=form.instance, granted=form.granted, withdrawn=form.withdrawn
        )

    @display(description=_("role"), ordering="name")
    def role_name(self, role: Group) -> str:
        return role_pages.role_label(role)

    @display(description=_("members"), ordering="member_count")
    def members(self, role: Group) -> str:
        return role_pages.members_link(role)

    @display(description=_("capabilities"))
    def capability_marks(self, role: Group) -> str:
        return role_pages.capability_marks(selectors.role_holdings(role))

    @action(
        description=_("Role matrix"), url_path="matrix", icon="table_view", permissions=["view"]
    )
    def role_matrix(self, request):
        return role_pages.matrix_response(self, request)


def _after_department(fields) -> tuple:
    """`fields` with the hand-over choice right after the department, if it is among them."""
    if "department" not in fields:
        return tuple(fields)
    at = list(fields).index("department") + 1
    return (*fields[:at], "hand_over_to", *fields[at:])


class HeldDeviceInline(ReadOnlyInline):
    model = Device
    fk_name = "holder"
    fields = ["serial_number", "project", "hardware_version", "location"]
    verbose_name_plural = _("devices held now")


class RoleFilter(admin.SimpleListFilter):
    """People by role, each role named as the Role column and the role pages name it."""

    title = _("role")
    # The role pages link to their members with Django's own parameter for the relation.
    parameter_name = "groups__id__exact"
    NONE = "none"

    def lookups(self, request, model_admin):
        roles = [(str(role.pk), role_pages.role_label(role)) for role in Group.objects.all()]
        return [*sorted(roles, key=lambda choice: choice[1]), (self.NONE, _("No role"))]

    def queryset(self, request, queryset):
        if self.value() == self.NONE:
            return queryset.filter(groups__isnull=True)
        if self.value() and self.value().isdigit():
            return queryset.filter(groups=self.value())
        return queryset


@admin.register(Employee)
class EmployeeAdmin(
    AutocompleteKeysMixin,
    BoundedSearchMixin,
    LeanListMixin,
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
        RoleFilter,
        "is_active",
        "is_superuser",
    ]
    # The department is a drop-down, a form field: it applies with the panel's button.
    list_filter_submit = True
    search_fields = ["employee_number", "display_name", "username", "email"]
    ordering = ["employee_number"]
    autocomplete_fields = ["department"]
    list_select_related = ["department"]
    inlines = [HeldDeviceInline]
    actions = ["print_labels", "deactivate_selected"]
    trail_models = (IncidentEvent, OperationRecord, AnalysisResult, ConfigChange)
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
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and selectors.open_assignments(obj).exists():
            # Whoever takes their open incidents, should the department change.
            fieldsets = [
                (name, {**options, "fields": _after_department(options["fields"])})
                for name, options in fieldsets
            ]
        return fieldsets

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.by = request.user
        return form

    def save_model(self, request, obj, form, change) -> None:
        # A new department moves the person through the service, which hands their open
        # incidents over as the form says (or refuses); the rest of the form saves as usual.
        if change and "department" in form.changed_data:
            services.employee_move(
                employee=obj,
                department=form.cleaned_data["department"],
                by=request.user,
                hand_over_to=form.hand_over_choice(),
            )
        super().save_model(request, obj, form, change)

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
        if obj is not None and not rules.may_change_person(obj, request.user):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and not rules.may_change_person(obj, request.user):
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Nobody deletes configuration changes: a person they name is kept (and `protected`
        # says so, with the advice to deactivate), which is not a permission anyone lacks.
        perms_needed = perms_needed - {str(ConfigChange._meta.verbose_name)}
        return deleted, model_count, perms_needed, protected

    def deactivate(self, request, obj: Employee) -> str | None:
        try:
            services.employee_deactivate(employee=obj, by=request.user)
        except services.WorkflowError as error:
            return error.message
        return None

    @display(description=_("roles"))
    def roles(self, employee: Employee) -> str:
        names = [role_pages.role_label(group) for group in employee.groups.all()]
        if employee.is_superuser:
            names.insert(0, str(_("Superuser")))
        return ", ".join(names) or "—"


@admin.register(Department)
class DepartmentAdmin(AutocompleteKeysMixin, BoundedSearchMixin, SingleCountListMixin, ModelAdmin):
    """A department with its supervisors and members, saved through the service that refuses
    what would leave work without anyone to do it (incidents/services/departments.py)."""

    form = DepartmentForm
    fields = ["code", "name", "name_zh", "description", "is_active", "supervisors", "members"]
    list_display = [
        "code",
        "department_name",
        "supervisor_names",
        "member_count",
        "stages",
        "is_active",
    ]
    list_display_links = ["code", "department_name"]
    list_filter = ["is_active"]
    search_fields = ["code", "name", "name_zh"]
    autocomplete_fields = ["supervisors"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(member_count=Count("employees", distinct=True))
            .prefetch_related("supervisors", "owned_stages")
        )

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if "field_name" in request.GET:
            # Picking a department for a person or a stage: only those in use.
            queryset = queryset.filter(is_active=True)
        return queryset, may_have_duplicates

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.by = request.user
        return form

    def save_model(self, request, obj, form, change) -> None:
        services.department_save(
            department=obj,
            by=request.user,
            supervisors=list(form.cleaned_data["supervisors"]),
            members=list(form.cleaned_data["members"]),
        )

    def save_related(self, request, form, formsets, change) -> None:
        # department_save set the supervisors (giving and taking the role) and the members.
        return None

    @display(description=_("members"))
    def members(self, department: Department) -> str:
        return ", ".join(p.get_full_name() for p in department.employees.all()) or "—"

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
class StageOwnershipAdmin(
    AutocompleteKeysMixin, BoundedSearchMixin, SingleCountListMixin, ModelAdmin
):
    form = StageOwnershipForm
    list_display = ["stage_label", "department", "work_location", "target_time"]
    list_editable = ["department", "work_location"]
    list_display_links = ["stage_label"]
    autocomplete_fields = ["department", "work_location"]
    search_fields = ["stage", "department__name", "department__name_zh", "department__code"]
    list_select_related = ["department", "work_location"]

    def get_changelist_form(self, request, **kwargs):
        # The list's editable columns obey the same rules as the page.
        return super().get_changelist_form(request, form=StageOwnershipForm, **kwargs)

    def save_model(self, request, obj, form, change) -> None:
        services.stage_ownership_save(ownership=obj)

    @display(description=_("stage"), ordering="stage")
    def stage_label(self, ownership: StageOwnership) -> str:
        return ownership.get_stage_display()

    @display(description=_("target time"), ordering="target")
    def target_time(self, ownership: StageOwnership) -> str:
        if ownership.target is None:
            return _("no deadline")
        return f"{ownership.target} {ownership.get_target_unit_display()}"
