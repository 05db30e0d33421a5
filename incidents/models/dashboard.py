from django.db import models
from django.utils.translation import gettext_lazy as _


class DashboardDay(models.Model):
    """A day's stamp for the dashboard's kept parts: drawn anew whenever an incident opened that
    day (in UTC), its timeline or its device changes.

    The database writes it, in the transaction of the change, by triggers on the incidents,
    their timelines and the devices (migration 0044): every writer of those facts (the
    services, the imports' bulk writer, seeding, a superuser's delete, a problem group's
    removal emptying its incidents' group) keeps it right without knowing of it. A part of the
    dashboard (incidents.dashboard.periods) is kept under the stamps of its days, so a change
    makes only the parts of its incident's day counted again. A stamp is drawn at random, not
    counted up: a table emptied and written again never shows a stamp a kept part was made
    under."""

    day = models.DateField(_("day"), primary_key=True)
    stamp = models.BigIntegerField(_("stamp"))

    class Meta:
        ordering = ["day"]
        verbose_name = _("dashboard day")
        verbose_name_plural = _("dashboard days")

    def __str__(self) -> str:
        return f"{self.day.isoformat()} · {self.stamp}"
