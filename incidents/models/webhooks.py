"""Webhooks: the addresses where the factory's MES (or any system) is told of the workflow's
changes, and every delivery made to them, kept for the admin to read and send again."""

import ipaddress
import uuid
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.choices import WebhookDeliveryStatus, WebhookEvent

WEBHOOK_URL_MAX_LENGTH = 500
WEBHOOK_SECRET_MAX_LENGTH = 200


def validate_webhook_url(value: str) -> None:
    """Only a plain http(s) address with a host: no credentials in it, no other scheme, no
    control characters (a header could be forged with them)."""
    value = str(value)
    if any(ord(c) < 32 or ord(c) == 127 for c in value) or " " in value:
        raise ValidationError(_("The address may not hold spaces or control characters."))
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as error:
        raise ValidationError(_("This is not a web address.")) from error
    if parts.scheme not in ("http", "https"):
        raise ValidationError(_("Only http:// and https:// addresses can receive webhooks."))
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationError(_("The address may not hold a user name or a password."))
    if not parts.hostname:
        raise ValidationError(_("The address names no host."))
    if port == 0:
        raise ValidationError(_("This is not a web address."))
    try:
        ipaddress.ip_address(parts.hostname)
    except ValueError:
        try:
            parts.hostname.encode("idna")
        except UnicodeError as error:
            raise ValidationError(_("This is not a web address.")) from error


class Webhook(models.Model):
    """An address told of the events it chose, each delivery signed with its secret."""

    name = models.CharField(_("name"), max_length=100)
    url = models.CharField(
        _("address"),
        max_length=WEBHOOK_URL_MAX_LENGTH,
        validators=[validate_webhook_url],
        help_text=_("An http:// or https:// address that receives a POST for each event."),
    )
    secret = models.CharField(
        _("secret"),
        max_length=WEBHOOK_SECRET_MAX_LENGTH,
        help_text=_("Signs every delivery (X-ADT-Signature), so the receiver knows it is ours."),
    )
    events = models.JSONField(_("events"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        "incidents.Employee",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhooks",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self) -> str:
        return self.name or self.url

    def hears(self, event: str) -> bool:
        return self.is_active and event in (self.events or ())


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one webhook; its id is the X-ADT-Delivery header and
    stays the same on every attempt."""

    OPEN = (WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.FAILED)

    id = models.UUIDField(_("delivery id"), primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(
        "incidents.Webhook",
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("webhook"),
    )
    event = models.CharField(_("event"), max_length=32, choices=WebhookEvent.choices)
    # The JSON body as sent, byte for byte the same on every attempt (kept as text: never
    # re-encoded, so the signature a receiver checks is over exactly these bytes).
    payload = models.TextField(_("payload as sent"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=WebhookDeliveryStatus.choices,
        default=WebhookDeliveryStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_response_code = models.PositiveSmallIntegerField(
        _("last response code"), null=True, blank=True
    )
    last_error = models.TextField(_("last error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "failed"]),
                name="webhook_delivery_due_idx",
            ),
            models.Index(fields=["webhook", "-created_at"], name="webhook_delivery_hook_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook} ({self.id})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN
