from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from locations.visibility import ProjectRowsManager

# The most fails in a row a station may wait for: the decision reads that many runs a failure.
MAX_FAILS_TO_OPEN = 100


class Station(models.Model):
    """A test station of the line, as an administrator configures it: results name it."""

    name = models.CharField(
        _("name"),
        max_length=100,
        help_text=_("As the station's results name it, e.g. FCT-LINE-3 (case does not matter)."),
    )
    description = models.TextField(_("description"), blank=True)
    fails_to_open = models.PositiveSmallIntegerField(
        _("fails in a row to open an incident"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_FAILS_TO_OPEN)],
        help_text=_(
            "How many failures in a row of one device at this station open an incident by "
            "themselves; empty: the product's setting (RESULTS_FAILS_TO_OPEN)."
        ),
    )
    active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("An inactive station's results are refused."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("test station")
        verbose_name_plural = _("test stations")
        constraints = [
            models.UniqueConstraint(
                Upper("name"),
                name="station_name_unique_ignoring_case",
                violation_error_message=_("A station with this name already exists."),
            ),
            models.CheckConstraint(
                condition=Q(fails_to_open__isnull=True)
                | Q(fails_to_open__gte=1, fails_to_open__lte=MAX_FAILS_TO_OPEN),
                name="station_fails_to_open_range",
                violation_error_message=_("Fails in a row run from 1 to 100."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


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
