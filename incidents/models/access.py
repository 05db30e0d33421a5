from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ProjectAccess(models.Model):
    """A confidential project: its devices, incidents and everything about them are seen only by
    the departments and people named here (and administrators). A project without one is seen by
    everyone who may see incidents. Projects are matched without regard to case."""

    project = models.CharField(
        _("project"),
        max_length=100,
        help_text=_("As written on the devices, e.g. G18. Upper and lower case are the same."),
    )
    departments = models.ManyToManyField(
        "incidents.Department",
        blank=True,
        related_name="project_accesses",
        verbose_name=_("departments"),
        help_text=_("Everyone in these departments sees the project."),
    )
    people = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="project_accesses",
        verbose_name=_("people"),
        help_text=_("These people see the project, whatever their department."),
    )
    note = models.TextField(
        _("note"), blank=True, help_text=_("Why it is restricted, e.g. the customer's contract.")
    )
    created_at = models.DateTimeField(_("restricted since"), default=timezone.now)

    class Meta:
        ordering = ["project"]
        verbose_name = _("restricted project")
        verbose_name_plural = _("restricted projects")
        constraints = [
            models.UniqueConstraint(
                Upper("project"),
                name="project_access_project_unique",
                violation_error_message=_("This project is already restricted."),
            ),
        ]

    def __str__(self) -> str:
        return self.project
