"""Confidential projects: an administrator names the departments and people who see a project
(incidents.access decides what everyone else sees of it). Each page says who sees the project
now, how much of the factory's record is in it, and which stages are owned by departments that
would not see its incidents. Saving a restriction that takes open incidents out of the sight of
their assignees or stage owners first shows who loses what and asks for confirmation, as
deleting does; nothing changes until it is confirmed."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import F, Func, IntegerField, OuterRef, Subquery
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display
from unfold.widgets import UnfoldAdminTextareaWidget, UnfoldAdminTextInputWidget

from config.kit.lists import SingleCountListMixin
from config.kit.search import BoundedSearchMixin
from config.kit.widgets import AutocompleteKeysMixin
from incidents import rules
from incidents.choices import OPEN_STAGES
from incidents.models import Incident, ProjectAccess, StageOwnership
from incidents.services.restrictions import (
    RestrictionImpact,
    RestrictionUnconfirmed,
    project_access_impact,
    project_access_save,
)
from locations.models import Device, project_key

# The confirmation page posts the form again with this field: the fingerprint of the impact
# the administrator was shown (incidents.services.restrictions).
CONFIRMED = "_restriction_confirmed"
# Incident numbers named per person on the confirmation page; the rest are counted.
SHOWN_PER_PERSON = 12


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
        # Compared by key, which is not a field of the form (so the model's constraint is not
        # checked with it): Сокол and СОКОЛ, Straße and STRASSE are one project.
        same = ProjectAccess.objects.filter(project_key=project_key(project))
        if same.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("This project is already restricted."))
        return project


@admin.register(ProjectAccess)
class ProjectAccessAdmin(
    AutocompleteKeysMixin, BoundedSearchMixin, SingleCountListMixin, ModelAdmin
):
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
            Device.objects.filter(project_key=OuterRef("project_key"))
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
        if request.method == "POST":
            confirmation = self._confirmation(request, object_id)
            if confirmation is not None:
                return confirmation
        known = (
            Device.objects.exclude(project="")
            .values_list("project", flat=True)
            .distinct()
            .order_by("project")[:500]
        )
        extra_context = {**(extra_context or {}), "known_projects": list(known)}
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except RestrictionUnconfirmed as unconfirmed:
            # Someone was assigned (or moved) between the confirmation and the save; nothing
            # was saved: show what it takes away now.
            obj = self.get_object(request, unquote(object_id)) if object_id else None
            return self._confirmation_page(request, obj, unconfirmed.impact, changed=True)

    # --- confirming what a restriction takes away ----------------------------------------------
    def _confirmation(self, request, object_id):
        """The confirmation page when the posted restriction is valid, may be saved by this
        person and takes open work away that they did not confirm; None to go on (saved at
        once, or the change page shows the form's errors or refuses as usual)."""
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        if object_id and obj is None:
            return None
        allowed = (
            self.has_change_permission(request, obj)
            if obj is not None
            else self.has_add_permission(request)
        )
        if not allowed:
            return None
        form = self.get_form(request, obj, change=obj is not None)(
            request.POST, request.FILES, instance=obj
        )
        if not form.is_valid():
            return None
        impact = project_access_impact(
            project=form.cleaned_data["project"],
            departments=form.cleaned_data["departments"],
            people=form.cleaned_data["people"],
        )
        confirmed = request.POST.get(CONFIRMED)
        if not impact or confirmed == impact.fingerprint:
            return None
        return self._confirmation_page(request, obj, impact, changed=confirmed is not None)

    def _confirmation_page(self, request, obj, impact: RestrictionImpact, *, changed: bool):
        owners = rules.Facts(None).owners
        people = []
        for loss in impact.losses:
            owned_by = {owners[incident.stage] for incident in loss.owned}
            people.append(
                {
                    "person": loss.person,
                    "department": loss.person.department,
                    "assigned": _numbers(loss.assigned),
                    "owned": _numbers(loss.owned),
                    "owned_by": ", ".join(sorted(d.localized_name for d in owned_by)),
                }
            )
        # The form as posted travels along, but for the confirmation itself.
        posted = [
            (name, value)
            for name in request.POST
            if name not in ("csrfmiddlewaretoken", CONFIRMED)
            for value in request.POST.getlist(name)
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": obj,
            "title": gettext("Restrict project %(project)s?") % {"project": impact.project},
            "impact": impact,
            "people": people,
            "handed_back": _numbers(impact.handed_back),
            "affected": _numbers(impact.incidents),
            "posted": posted,
            "confirmed_name": CONFIRMED,
            "changed": changed,
        }
        return TemplateResponse(
            request, "admin/incidents/projectaccess/restriction_confirmation.html", context
        )

    def save_model(self, request, obj, form, change):
        impact = project_access_save(
            restriction=obj,
            departments=form.cleaned_data["departments"],
            people=form.cleaned_data["people"],
            by=request.user,
            confirmed=request.POST.get(CONFIRMED),
        )
        handed_back = impact.handed_back
        if handed_back:
            messages.warning(
                request,
                ngettext(
                    "%(count)d incident went back to its department's queue: %(ids)s.",
                    "%(count)d incidents went back to their department's queue: %(ids)s.",
                    len(handed_back),
                )
                % {
                    "count": len(handed_back),
                    "ids": ", ".join(f"#{incident.pk}" for incident in handed_back),
                },
            )
        if impact.losses:
            messages.info(
                request,
                ngettext(
                    "%(count)d person who lost sight of the project was told.",
                    "%(count)d people who lost sight of the project were told.",
                    len(impact.losses),
                )
                % {"count": len(impact.losses)},
            )

    def save_related(self, request, form, formsets, change):
        # The departments and people were saved with the restriction (project_access_save).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @display(description=_("departments"))
    def department_names(self, restriction: ProjectAccess) -> str:
        return ", ".join(d.localized_name for d in restriction.departments.all()) or "—"

    @display(description=_("people"))
    def people_names(self, restriction: ProjectAccess) -> str:
        return ", ".join(p.get_full_name() for p in restriction.people.all()) or "—"

    @display(description=_("devices"), ordering="device_count")
    def device_count(self, restriction: ProjectAccess) -> int:
        if getattr(restriction, "device_count", None) is None:
            return Device.objects.filter(project_key=restriction.project_key).count()
        return restriction.device_count

    @display(description=_("covers"))
    def reach(self, restriction: ProjectAccess) -> str:
        if restriction.pk is None:
            return "—"
        incidents = Incident.objects.filter(device__project_key=restriction.project_key)
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


def _numbers(incidents: list[Incident]) -> dict:
    """Incident numbers to name on a page: the first few, and how many more."""
    return {
        "count": len(incidents),
        "shown": [incident.pk for incident in incidents[:SHOWN_PER_PERSON]],
        "more": max(0, len(incidents) - SHOWN_PER_PERSON),
    }
