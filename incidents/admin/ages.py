"""How long an incident has been in its stage, as the incident admin shows it: unknown for one
imported from the legacy workbook without the time it entered its stage
(Incident.stage_entered_known), never the registration day the import put in its place."""

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from unfold.decorators import display

from incidents.models import Incident

UNKNOWN_AGE = _("unknown (imported)")


class StageAgeMixin:
    """For the incident admin: the list's column and the page's field of the time in stage."""

    @display(description=_("in stage for"), ordering="stage_entered_at")
    def stage_age(self, incident: Incident) -> str:
        if not incident.is_open:
            return "—"
        if not incident.stage_entered_known:
            return UNKNOWN_AGE
        return timesince(incident.stage_entered_at, depth=1)

    @display(description=_("in stage since"))
    def stage_since(self, incident: Incident) -> str:
        if not incident.stage_entered_known:
            return UNKNOWN_AGE
        return date_format(timezone.localtime(incident.stage_entered_at), "DATETIME_FORMAT")
