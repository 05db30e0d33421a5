from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from locations.models import project_key


class ProjectAccess(models.Model):
    """A confidential project: its devices, incidents and everything about them are seen only by
    the departments and people named here (and administrators). A project without one is seen by
    everyone who may see incidents. Projects are matched by `project_key`: without regard to case,
    full-width or half-width characters."""

    project = models.CharField(
        _("project"),
        max_length=100,
        help_text=_("As written on the devices, e.g. G18. Upper and lower case are the same."),
    )
    # `locations.models.project_key(project)`, kept by save(): what is compared with devices'.
    project_key = models.CharField(max_length=200, editable=False, default="")
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
                fields=["project_key"],
                name="project_access_project_key_unique",
                violation_error_message=_("This project is already restricted."),
            ),
        ]

    def __str__(self) -> str:
        return self.project

    def save(self, *args, **kwargs):
        self.project_key = project_key(self.project)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "project" in update_fields:
            kwargs["update_fields"] = {*update_fields, "project_key"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        # Before the constraints are validated: a project restricted under another spelling.
        self.project_key = project_key(self.project)
