"""The problem groups: incidents of one failure gathered for an 8D report, with their count, the
open ones among them, the 8D's owner and the group's own chat room."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesCheckboxFilter
from unfold.decorators import display

from config.kit.filters import DateTimeRangeFilter
from config.kit.lists import LeanListMixin, counted
from config.kit.search import BoundedSearchMixin
from config.kit.widgets import AutocompleteKeysMixin
from incidents.admin.eightd import EightDInline, EightDOwnerMixin
from incidents.admin.inlines import ReadOnlyInline
from incidents.choices import OPEN_STAGES, ProblemGroupStatus
from incidents.models import Incident, Notification, ProblemGroup, ReportJob
from locations.history_admin import TrailHistoryAdmin

PROBLEM_GROUP_COLORS = {
    ProblemGroupStatus.OPEN: "warning",
    ProblemGroupStatus.INVESTIGATING: "info",
    ProblemGroupStatus.RESOLVED: "success",
    ProblemGroupStatus.CLOSED: "default",
}


class ProblemGroupIncidentInline(ReadOnlyInline):
    model = Incident
    fields = ["device", "stage", "opened_at", "reporter"]


@admin.register(ProblemGroup)
class ProblemGroupAdmin(
    AutocompleteKeysMixin,
    BoundedSearchMixin,
    LeanListMixin,
    EightDOwnerMixin,
    TrailHistoryAdmin,
    ModelAdmin,
):
    list_display = ["number", "title", "status_label", "open_count", "incident_count", "created_at"]
    list_display_links = ["number", "title"]
    list_filter = [("status", ChoicesCheckboxFilter), ("created_at", DateTimeRangeFilter)]
    list_filter_submit = True
    search_fields = ["number", "title", "description"]
    # Set when the group is made, never by a form: the dashboard's "open for" reads it.
    readonly_fields = ["created_at"]
    # The incidents are the 8D's evidence, listed with the group's details.
    inlines = [ProblemGroupIncidentInline, EightDInline]
    # The group's own chat room, below its form (not on the add page).
    change_form_outer_after_template = "admin/incidents/problemgroup/chat_panel.html"

    def get_queryset(self, request):
        incidents = Incident.objects.visible_to(request.user)
        return (
            super()
            .get_queryset(request)
            .annotate(
                incident_count=counted(incidents, "problem_group"),
                open_count=counted(incidents.filter(stage__in=OPEN_STAGES), "problem_group"),
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

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        # The reports people asked of the group, and their notices, go with it; nobody deletes
        # them alone.
        perms_needed.discard(ReportJob._meta.verbose_name)
        perms_needed.discard(Notification._meta.verbose_name)
        return deleted, model_count, perms_needed, protected
