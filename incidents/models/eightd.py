from typing import NamedTuple

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Discipline(NamedTuple):
    """One of the eight disciplines as a report shows it."""

    code: str
    label: str
    text: str
    date: object


class EightD(models.Model):
    """The 8D report of a problem group: the eight disciplines its owner works through, each
    written down with the date it was done. The group's incidents are its evidence."""

    # The disciplines in their order (D1 … D8); each is a text field and `<name>_date`.
    DISCIPLINES = (
        "team",
        "problem",
        "containment",
        "root_cause",
        "corrective_action",
        "verification",
        "prevention",
        "closure",
    )
    FIELDS = tuple(field for name in DISCIPLINES for field in (name, f"{name}_date"))

    group = models.OneToOneField(
        "incidents.ProblemGroup",
        on_delete=models.CASCADE,
        related_name="eightd",
        verbose_name=_("problem group"),
    )
    team = models.TextField(
        _("D1 Team"),
        blank=True,
        help_text=_("Who works on the problem: names, departments, what each one does."),
    )
    team_date = models.DateField(_("D1 date"), null=True, blank=True)
    problem = models.TextField(
        _("D2 Problem description"),
        blank=True,
        help_text=_("What fails, where, since when and how often, in measurable terms."),
    )
    problem_date = models.DateField(_("D2 date"), null=True, blank=True)
    containment = models.TextField(
        _("D3 Containment"),
        blank=True,
        help_text=_("What keeps the failure from reaching the customer until it is fixed."),
    )
    containment_date = models.DateField(_("D3 date"), null=True, blank=True)
    root_cause = models.TextField(
        _("D4 Root cause"),
        blank=True,
        help_text=_("Why it fails and why it was not detected, shown by the evidence."),
    )
    root_cause_date = models.DateField(_("D4 date"), null=True, blank=True)
    corrective_action = models.TextField(
        _("D5 Corrective action"),
        blank=True,
        help_text=_("The permanent fix chosen for the root cause."),
    )
    corrective_action_date = models.DateField(_("D5 date"), null=True, blank=True)
    verification = models.TextField(
        _("D6 Verification"),
        blank=True,
        help_text=_("How the fix was put in place and shown to work."),
    )
    verification_date = models.DateField(_("D6 date"), null=True, blank=True)
    prevention = models.TextField(
        _("D7 Prevention"),
        blank=True,
        help_text=_("What changes in processes, designs or tests so it does not happen again."),
    )
    prevention_date = models.DateField(_("D7 date"), null=True, blank=True)
    closure = models.TextField(
        _("D8 Closure"),
        blank=True,
        help_text=_("The conclusion and who is recognised for the work."),
    )
    closure_date = models.DateField(_("D8 date"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-group__number"]
        verbose_name = _("8D report")
        verbose_name_plural = _("8D reports")

    def __str__(self) -> str:
        return f"8D {self.group.number}" if self.group_id else "8D"

    def disciplines(self) -> list[Discipline]:
        """D1 … D8 in order, each with its label, text and date."""
        return [
            Discipline(
                code=f"D{index}",
                label=self._meta.get_field(name).verbose_name,
                text=getattr(self, name),
                date=getattr(self, f"{name}_date"),
            )
            for index, name in enumerate(self.DISCIPLINES, start=1)
        ]
