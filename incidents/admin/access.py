"""Confidential projects: an administrator names the departments and people who see a project
(incidents.access decides what everyone else sees of it). Each page says who sees the project
now, how much of the factory's record is in it, and which stages are owned by departments that
would not see its incidents."""

from django import forms
from django.contrib import admin
from django.db.models import F, Func, IntegerField, OuterRef, Subquery
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display
from unfold.widgets import UnfoldAdminTextareaWidget, UnfoldAdminTextInputWidget

from config.lists import SingleCountListMixin
from incidents.choices import OPEN_STAGES
from incidents.models import Incident, ProjectAccess, StageOwnership
from locations.models import Device


class ProjectAccessForm(forms.ModelForm):
    class Meta:
        model = ProjectAccess
        fields = ["project", "departments", "people", "note"]
        widgets = {
            "project": UnfoldAdminTextInputWidget(attrs={"list": "known-projects"}),
            "note": UnfoldAdminTextareaWidget(attrs={"rows": 3}),
        }

    def clean_project(self) -> str:
        project = (self.cleaned_data.get("project") or "").strip()
        if not project:
            raise forms.ValidationError(_("Name the project as it is written on the devices."))
        return project


@admin.register(ProjectAccess)
class ProjectAccessAdmin(SingleCountListMixin, ModelAdmin):
    form = ProjectAccessForm
    list_display = ["project", "department_names", "people_names", "device_count", "note"]
    search_fields = ["project", "note"]
    autocomplete_fields = ["departments", "people"]
    readonly_fields = ["reach", "stage_owners_outside"]
    fieldsets = (
        (None, {"fields": ("project", "departments", "people", "note")}),
        (_("What the restriction covers"), {"fields": ("reach", "stage_owners_outside")}),
    )
    change_form_after_template = "admin/incidents/projectaccess/known_projects.html"

    def get_fieldsets(self, request, obj=None):
        # What a restriction covers is known once it is saved.
        return self.fieldsets if obj is not None else self.fieldsets[:1]

    def get_queryset(self, request):
        devices = (
            Device.objects.filter(project__iexact=OuterRef("project"))
            .order_by()
            .values(count=Func(F("id"), function="COUNT"))
        )
        return (
            super()
            .get_queryset(request)
            .annotate(device_count=Subquery(devices, output_field=IntegerField()))
            .prefetch_related("departments", "people")
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        known = (
            Device.objects.exclude(project="")
            .values_list("project", flat=True)
            .distinct()
            .order_by("project")[:500]
        )
        extra_context = {**(extra_context or {}), "known_projects": list(known)}
        return super().changeform_view(request, object_id, form_url, extra_context)

    @display(description=_("departments"))
    def department_names(self, restriction: ProjectAccess) -> str:
        return ", ".join(d.localized_name for d in restriction.departments.all()) or "—"

    @display(description=_("people"))
    def people_names(self, restriction: ProjectAccess) -> str:
        return ", ".join(p.get_full_name() for p in restriction.people.all()) or "—"

    @display(description=_("devices"), ordering="device_count")
    def device_count(self, restriction: ProjectAccess) -> int:
        if getattr(restriction, "device_count", None) is None:
            return Device.objects.filter(project__iexact=restriction.project).count()
        return restriction.device_count

    @display(description=_("covers"))
    def reach(self, restriction: ProjectAccess) -> str:
        if restriction.pk is None:
            return "—"
        incidents = Incident.objects.filter(device__project__iexact=restriction.project)
        return _(
            "%(devices)s devices, %(incidents)s incidents (%(open)s open). Administrators see "
            "every project; everyone else sees these only through the departments and people "
            "named above."
        ) % {
            "devices": self.device_count(restriction),
            "incidents": incidents.count(),
            "open": incidents.filter(stage__in=OPEN_STAGES).count(),
        }

    @display(description=_("stages owned by departments outside"))
    def stage_owners_outside(self, restriction: ProjectAccess):
        """The stages whose owning department is not named: its supervisors and members do not
        see the project's incidents there (unless named themselves), so nobody but an
        administrator assigns or reviews them."""
        if restriction.pk is None:
            return "—"
        outside = (
            StageOwnership.objects.select_related("department")
            .exclude(department__in=restriction.departments.all())
            .order_by("id")
        )
        if not outside:
            return _("None: every stage's department sees the project.")
        return format_html(
            '<span class="text-orange-700 dark:text-orange-400">{}</span><ul>{}</ul>',
            _(
                "Their supervisors and members see none of the project's incidents, unless "
                "named above: add the department, or the people who should do the work."
            ),
            format_html_join(
                "",
                "<li>{} — {}</li>",
                (
                    (ownership.get_stage_display(), ownership.department.localized_name)
                    for ownership in outside
                ),
            ),
        )
