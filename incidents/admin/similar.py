"""The incident page's "Seen before" (similar.html): past incidents with the same failure and
how each ended (incidents.selectors.similar), the open problem groups its failure probably
belongs to, and the one-click join of one of them by a supervisor."""

from django.contrib import messages
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext as _

from config.kit.ids import pk_or_404
from incidents import access, rules, services
from incidents.models import Incident, ProblemGroup
from incidents.selectors.similar import similar_incidents, suggested_groups


def similar_context(incident: Incident, user) -> dict:
    """What similar.html shows of `incident` to `user`."""
    suggestions = suggested_groups(incident, user)
    may_join = rules.is_supervisor(user) or rules.is_admin(user)
    return {
        "rows": similar_incidents(incident, user),
        "suggestions": suggestions,
        # The button is offered to those the rule lets join; the service asks again.
        "may_join": may_join and rules.can_edit_incident(incident, user),
    }


class SimilarIncidentsAdminMixin:
    """Mixed into IncidentAdmin: the join of a suggested problem group."""

    def get_urls(self):
        join = path(
            "<path:object_id>/join-group/",
            self.admin_site.admin_view(self.join_group_view),
            name="incidents_incident_join_group",
        )
        return [join, *super().get_urls()]

    def join_group_view(self, request, object_id):
        """Put the incident in the problem group posted (a supervisor or an administrator),
        then back to the incident saying what happened."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        incident = access.incident_for(request.user, pk_or_404(object_id))
        group = get_object_or_404(ProblemGroup, pk=pk_or_404(request.POST.get("problem_group", "")))
        try:
            services.incident_join_problem_group(
                incident=incident, problem_group=group, by=request.user
            )
        except services.WorkflowError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("Incident #%(id)s is now in problem group %(number)s.")
                % {"id": incident.pk, "number": group.number},
            )
        return HttpResponseRedirect(self._incident_url(incident))

    def _incident_url(self, incident: Incident) -> str:
        return reverse("admin:incidents_incident_change", args=[incident.pk])
