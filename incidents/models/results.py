from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from locations.visibility import ProjectRowsManager


class StationResult(models.Model):
    """One test a station ran on a device, as the station reported it through the API."""

    project_path = "device__project"

    device = models.ForeignKey(
        "locations.Device",
        on_delete=models.PROTECT,
        related_name="station_results",
        verbose_name=_("device"),
    )
    station = models.CharField(_("station"), max_length=100)
    # The station's own id of the result: the same one reported twice is stored once.
    result_id = models.CharField(_("result id"), max_length=100)
    test_item = models.CharField(_("test item"), max_length=200)
    passed = models.BooleanField(_("passed"))
    value = models.FloatField(_("measured value"), null=True, blank=True)
    low_limit = models.FloatField(_("low limit"), null=True, blank=True)
    high_limit = models.FloatField(_("high limit"), null=True, blank=True)
    log_url = models.CharField(_("test log link"), max_length=500, blank=True)
    tested_at = models.DateTimeField(_("tested at"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    token = models.ForeignKey(
        "incidents.ApiToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="station_results",
        verbose_name=_("reported with token"),
    )
    reported_by = models.ForeignKey(
        "incidents.Employee",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="station_results",
        verbose_name=_("reported by"),
    )

    objects = ProjectRowsManager()

    class Meta:
        ordering = ["-tested_at", "-id"]
        verbose_name = _("station result")
        verbose_name_plural = _("station results")
        constraints = [
            models.UniqueConstraint(
                fields=["station", "result_id"],
                name="station_result_once",
                violation_error_message=_("This station already reported this result."),
            ),
        ]
        indexes = [
            # A device's recent runs at a station, newest first (the incident page, auto-open).
            models.Index(
                fields=["device", "station", "-tested_at"], name="station_result_device_runs"
            ),
        ]

    def __str__(self) -> str:
        verdict = _("pass") if self.passed else _("fail")
        return f"{self.station} · {self.test_item} · {verdict}"
