"""Configuration changes: the audit trail incidents.audit writes, read by administrators and
never edited. Each entry shows what changed in words: permissions as the roles page names them,
roles, stages and departments in the reader's language, people and codes as they were."""

from django.contrib import admin
from django.contrib.admin import RelatedOnlyFieldListFilter
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import (
    ChoicesDropdownFilter,
    RelatedDropdownFilter,
)
from unfold.decorators import display

from config.kit.filters import DateTimeRangeFilter
from config.kit.lists import SingleCountListMixin
from config.kit.search import BoundedSearchMixin
from incidents.capabilities import permission_label
from incidents.choices import ConfigChangeAction, ConfigChangeKind, Role, Stage
from incidents.models import ConfigChange, Department

FIELD_LABELS = {
    "name": gettext_lazy("name"),
    "code": gettext_lazy("code"),
    "name_zh": gettext_lazy("Chinese name"),
    "description": gettext_lazy("description"),
    "is_active": gettext_lazy("active"),
    "is_superuser": gettext_lazy("superuser status"),
    "permissions": gettext_lazy("permissions"),
    "people": gettext_lazy("people"),
    "roles": gettext_lazy("roles"),
    "supervisors": gettext_lazy("supervisors"),
    "stage": gettext_lazy("stage"),
    "department": gettext_lazy("department"),
    "work_location": gettext_lazy("where the work happens"),
    "target": gettext_lazy("target time"),
    "project": gettext_lazy("project"),
    "serial_number": gettext_lazy("serial number"),
    "reason": gettext_lazy("reason"),
    "note": gettext_lazy("note"),
    "departments": gettext_lazy("departments"),
}


class Words:
    """Turns an entry's stored values into words (departments looked up once, when named)."""

    def __init__(self):
        self._departments: dict[str, str] | None = None

    def department(self, code: str) -> str:
        if self._departments is None:
            self._departments = {d.code: str(d) for d in Department.objects.all()}
        return self._departments.get(code, code)

    def item(self, key: str, value) -> str:
        if key == "permissions":
            return permission_label(value)
        if key == "departments":
            return self.department(value)
        if key == "roles" and value in Role.values:
            return str(Role(value).label)
        return str(value)

    def value(self, key: str, value) -> str:
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if value in (None, ""):
            return "—"
        if isinstance(value, list):
            return ", ".join(sorted(self.item(key, item) for item in value)) or "—"
        if key == "stage" and value in Stage.values:
            return str(Stage(value).label)
        if key == "department":
            return self.department(value)
        return self.item(key, value)

    def rows(self, change: ConfigChange) -> list[tuple[str, str, str]]:
        """(what, before, after) for each value the change touched."""
        keys = list(dict.fromkeys([*change.before, *change.after]))
        return [
            (
                str(FIELD_LABELS.get(key, key)),
                self.value(key, change.before.get(key)) if key in change.before else "—",
                self.value(key, change.after.get(key)) if key in change.after else "—",
            )
            for key in keys
        ]

    def summary(self, change: ConfigChange) -> str:
        """One line per value: a list as what was added and taken away, a value as
        before → after (or as it was made, or as it was when deleted)."""
        lines = []
        for key in dict.fromkeys([*change.before, *change.after]):
            label = FIELD_LABELS.get(key, key)
            before, after = change.before.get(key), change.after.get(key)
            if isinstance(before, list) or isinstance(after, list):
                added = sorted(set(after or []) - set(before or []))
                removed = sorted(set(before or []) - set(after or []))
                if change.action != ConfigChangeAction.CHANGED:
                    added, removed = (after or before or []), []
                parts = [f"+ {self.value(key, added)}"] if added else []
                parts += [f"− {self.value(key, removed)}"] if removed else []
                lines.append((label, "; ".join(parts) or "—"))
            elif change.action == ConfigChangeAction.CHANGED:
                lines.append((label, f"{self.value(key, before)} → {self.value(key, after)}"))
            else:
                shown = after if change.action == ConfigChangeAction.CREATED else before
                lines.append((label, self.value(key, shown)))
        return format_html_join(
            "", '<div><span class="text-font-subtle-light">{}:</span> {}</div>', lines
        )


DEPARTMENT_KINDS = (ConfigChangeKind.DEPARTMENT, ConfigChangeKind.SUPERVISORS)
ROLE_KINDS = (ConfigChangeKind.ROLE, ConfigChangeKind.ROLE_PERMISSIONS)


def with_department_names(changes: QuerySet[ConfigChange]) -> QuerySet[ConfigChange]:
    """The entries with the current code and names of the department each names, if it still
    exists (for the entries about departments)."""
    department = Department.objects.filter(pk=OuterRef("object_id"))
    return changes.annotate(
        department_code=Subquery(department.values("code")[:1]),
        department_name=Subquery(department.values("name")[:1]),
        department_name_zh=Subquery(department.values("name_zh")[:1]),
    )


def object_label(change: ConfigChange) -> str:
    """The changed object as the reader names it: a built-in role, a stage, a department in
    their language; else as it was named then."""
    if change.kind == ConfigChangeKind.STAGE_OWNERSHIP and change.object_repr in Stage.values:
        return str(Stage(change.object_repr).label)
    if change.kind in ROLE_KINDS and change.object_repr in Role.values:
        return str(Role(change.object_repr).label)
    code = getattr(change, "department_code", None)
    if change.kind in DEPARTMENT_KINDS and code:
        department = Department(
            code=code, name=change.department_name, name_zh=change.department_name_zh
        )
        return str(department)
    return change.object_repr


class ChangedByFilter(RelatedDropdownFilter):
    """Only the people who made a change, not everyone."""

    def field_choices(self, field, request, model_admin):
        return RelatedOnlyFieldListFilter.field_choices(self, field, request, model_admin)


@admin.register(ConfigChange)
class ConfigChangeAdmin(BoundedSearchMixin, SingleCountListMixin, ModelAdmin):
    """Read by whoever holds the permission to view it (administrators); nobody adds, changes
    or deletes an entry, whatever their permissions."""

    list_display = ["created_at", "by", "kind_label", "action_label", "object_name", "changes"]
    list_display_links = ["created_at"]
    list_filter = [
        ("kind", ChoicesDropdownFilter),
        ("by", ChangedByFilter),
        ("created_at", DateTimeRangeFilter),
    ]
    list_filter_submit = True
    search_fields = ["object_repr", "by__display_name", "by__employee_number"]
    list_select_related = ["by"]
    fields = ["created_at", "by", "kind_label", "action_label", "object_name", "before_after"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return with_department_names(super().get_queryset(request))

    def get_changelist_instance(self, request):
        """The page's entries share one `Words`: the departments they name are looked up once
        for the page, not once an entry."""
        changelist = super().get_changelist_instance(request)
        words = Words()
        for change in changelist.result_list:
            change.words = words
        return changelist

    @display(description=gettext_lazy("what"), ordering="kind")
    def kind_label(self, change: ConfigChange) -> str:
        return change.get_kind_display()

    @display(description=gettext_lazy("change"), ordering="action")
    def action_label(self, change: ConfigChange) -> str:
        return change.get_action_display()

    @display(description=gettext_lazy("object"), ordering="object_repr")
    def object_name(self, change: ConfigChange) -> str:
        return object_label(change)

    @display(description=gettext_lazy("before and after"))
    def changes(self, change: ConfigChange) -> str:
        return (getattr(change, "words", None) or Words()).summary(change)

    @display(description=gettext_lazy("before and after"))
    def before_after(self, change: ConfigChange) -> str:
        rows = Words().rows(change)
        return format_html(
            '<table class="w-full text-left"><thead><tr><th class="pr-4">{}</th>'
            '<th class="pr-4">{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>',
            _("what"),
            _("before"),
            _("after"),
            format_html_join(
                "",
                '<tr><td class="pr-4 align-top">{}</td><td class="pr-4 align-top">{}</td>'
                '<td class="align-top">{}</td></tr>',
                rows,
            ),
        )
