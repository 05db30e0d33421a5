import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# What every token starts with, so a leaked one is recognisable in a log or a repository.
TOKEN_PREFIX = "adt_"


def token_digest(secret: str) -> str:
    """How a token is stored and looked up: its SHA-256. A token is 256 random bits, so a fast
    hash is enough; the token itself is shown once and never kept."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class ApiToken(models.Model):
    """A key a machine (a test station, the MES) sends to the API, with what it may do."""

    name = models.CharField(
        _("name"),
        max_length=100,
        help_text=_("The station or system that uses it, e.g. FCT-LINE-3. Shown in timelines."),
    )
    scopes = models.JSONField(_("scopes"), default=list)
    language = models.CharField(
        _("language"),
        max_length=16,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("The language of the API's answers to this token; empty: the product's."),
    )
    # The beginning of the token, to tell tokens apart in lists (never enough to use one).
    prefix = models.CharField(_("starts with"), max_length=16, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        "incidents.Employee",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="api_tokens",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            models.UniqueConstraint(
                fields=["digest"],
                name="api_token_digest_unique",
                violation_error_message=_("This token already exists."),
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(revoked_at__isnull=True),
                name="api_token_live_name_unique",
                violation_error_message=_("A token with this name is already in use."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class ApiTokenUse(models.Model):
    """One request made with a token: which, when, what was asked (kept for the audit)."""

    token = models.ForeignKey(
        "incidents.ApiToken",
        on_delete=models.CASCADE,
        related_name="uses",
        verbose_name=_("token"),
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    method = models.CharField(_("method"), max_length=8)
    path = models.CharField(_("path"), max_length=300)
    client = models.CharField(_("client"), max_length=64, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("API token use")
        verbose_name_plural = _("API token uses")
        indexes = [models.Index(fields=["token", "-at"], name="api_token_use_recent")]

    def __str__(self) -> str:
        return f"{self.token} · {self.method} {self.path}"
