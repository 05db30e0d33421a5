from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.choices import ConfigChangeAction, ConfigChangeKind


class ConfigChange(models.Model):
    """One change of the configuration (roles and their permissions, people's roles, departments,
    supervisors, stage ownership…): who made it, when, to what, and what it was before and after.
    Written by incidents.audit whatever path the change took; never edited."""

    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    by = models.ForeignKey(
        "incidents.Employee",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="config_changes",
        verbose_name=_("by"),
        help_text=_("Empty when the change was made outside a request (a command, a migration)."),
    )
    kind = models.CharField(_("what"), max_length=32, choices=ConfigChangeKind.choices)
    action = models.CharField(_("change"), max_length=16, choices=ConfigChangeAction.choices)
    # The object changed, by its primary key and as it was named then (it may be gone since).
    object_id = models.BigIntegerField(_("object id"), null=True, blank=True)
    object_repr = models.CharField(_("object"), max_length=200)
    before = models.JSONField(_("before"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(_("after"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("configuration change")
        verbose_name_plural = _("configuration changes")
        indexes = [
            models.Index(fields=["kind", "object_id"], name="config_change_object"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.object_repr}"
