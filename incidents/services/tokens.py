"""API tokens: made for a station or a system by an administrator, shown once, revoked."""

import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.choices import ApiScope
from incidents.models import ApiToken, ApiTokenUse
from incidents.models.tokens import TOKEN_PREFIX, token_digest

# An expiry further away than this is a typing mistake (and past what a date can hold).
MAX_EXPIRY_DAYS = 3650
NAME_MAX_CHARS = 100


def api_token_create(
    *,
    name: str,
    scopes: list[str],
    expires_in_days: int | None = None,
    language: str = "",
    created_by=None,
) -> tuple[ApiToken, str]:
    """A new token and its secret, which is shown once: only its digest is kept."""
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = _("Give the token a name: the station or system that uses it.")
    elif len(name) > NAME_MAX_CHARS or not name.isprintable():
        errors["name"] = _("A token's name is at most %(max)s printable characters.") % {
            "max": NAME_MAX_CHARS
        }
    unknown = sorted({scope for scope in scopes if scope not in ApiScope.values})
    if unknown:
        errors["scopes"] = _("Unknown scope: %(scopes)s. Known: %(known)s.") % {
            "scopes": ", ".join(unknown),
            "known": ", ".join(ApiScope.values),
        }
    elif not scopes:
        errors["scopes"] = _("Give the token at least one scope.")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        errors["expires_in_days"] = _("A token expires in 1 to %(max)s days.") % {
            "max": MAX_EXPIRY_DAYS
        }
    if not errors and ApiToken.objects.filter(name=name, revoked_at__isnull=True).exists():
        errors["name"] = _("A token named %(name)s is in use: revoke it first.") % {"name": name}
    if errors:
        raise ValidationError(errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken(
        name=name,
        scopes=[scope for scope in ApiScope.values if scope in scopes],
        language=language,
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        digest=token_digest(secret),
        created_by=created_by,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    try:
        with transaction.atomic():
            token.save()
    except IntegrityError as error:
        # Another administrator named a token the same at the same moment.
        raise ValidationError(
            {"name": _("A token named %(name)s is in use: revoke it first.") % {"name": name}}
        ) from error
    return token, secret


def api_token_revoke(*, token: ApiToken) -> bool:
    """Revokes `token` at once; False when it was already revoked."""
    return bool(
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def api_token_authenticate(secret: str) -> ApiToken | None:
    """The usable token whose secret this is, or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = ApiToken.objects.filter(digest=token_digest(secret)).first()
    return token if token is not None and token.is_usable() else None


def api_token_use_record(
    *, token: ApiToken, method: str, path: str, client: str = "", request_id: str = ""
) -> None:
    """Logs one use of `token` (the audit reads these) and when it was last used."""
    now = timezone.now()
    ApiTokenUse.objects.create(
        token=token,
        at=now,
        method=method[:8],
        path=path[:300],
        client=client[:64],
        request_id=request_id[:64],
    )
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
