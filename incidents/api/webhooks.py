"""Webhooks, registered by a token with the scope `webhooks:admin` or by an administrator signed
in: `POST /api/v1/webhooks/` with `{"url", "secret", "events": [...]}` (and optionally "name",
"is_active"), and the list. The secret is never answered back."""

import json
from datetime import datetime

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import Field

from incidents import access
from incidents.api import pages
from incidents.api.auth import caller
from incidents.api.errors import ApiError, bad_request
from incidents.api.examples import examples
from incidents.api.schemas import ErrorOut, Limit, Text
from incidents.choices import ApiScope, WebhookEvent
from incidents.models import Webhook
from incidents.services.webhooks import webhook_create

router = Router(tags=["webhooks"])
REFUSALS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut}
# A webhook is an address, a secret and a few events: far less than this.
MAX_BODY_BYTES = 16 * 1024
FIELDS = ("url", "secret", "events", "name", "is_active")


HOOK = {
    "id": 3,
    "name": "MES",
    "url": "https://mes.factory.example/hooks/adt",
    "events": list(WebhookEvent.values),
    "is_active": True,
    "created_at": "2026-12-01T08:30:00+08:00",
}


class WebhookOut(Schema):
    model_config = examples(HOOK)

    id: int
    name: str
    url: str
    events: list[str] = Field(description="Among " + ", ".join(WebhookEvent.values) + ".")
    is_active: bool
    created_at: datetime


class WebhookPage(Schema):
    model_config = examples({"results": [HOOK], "next": None})

    results: list[WebhookOut]
    next: str | None


EXAMPLE = {
    "url": "https://mes.factory.example/hooks/adt",
    "secret": "a-long-random-secret-shared-with-the-mes",
    "events": list(WebhookEvent.values),
}
BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["url", "secret", "events"],
                "properties": {
                    "url": {"type": "string", "format": "uri", "maxLength": 500},
                    "secret": {"type": "string", "minLength": 16, "maxLength": 200},
                    "events": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "string", "enum": list(WebhookEvent.values)},
                    },
                    "name": {"type": "string", "maxLength": 100},
                    "is_active": {"type": "boolean", "default": True},
                },
            },
            "example": EXAMPLE,
        }
    },
}


def _administrator(request: HttpRequest):
    """A token with the scope, or an administrator signed in (as in the admin)."""
    who = caller(request)
    if who.token is not None:
        who.require(ApiScope.WEBHOOKS_ADMIN)
    elif not access.sees_everything(who.person):
        raise ApiError(403, "forbidden", _("Only administrators may see or register webhooks."))
    return who


def _shown(hook: Webhook) -> dict:
    return {
        "id": hook.pk,
        "name": hook.name,
        "url": hook.url,
        "events": hook.events,
        "is_active": hook.is_active,
        "created_at": hook.created_at,
    }


def _body(request: HttpRequest) -> dict:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        raise ApiError(
            413, "too_large", _("The body is over %(max)s bytes.") % {"max": MAX_BODY_BYTES}
        )
    try:
        body = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise bad_request(_("The request's body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise bad_request(_('Send {"url": …, "secret": …, "events": [ … ]}.'))
    if unknown := sorted(str(name)[:50] for name in body if name not in FIELDS):
        raise bad_request(_("Unknown field: %(fields)s.") % {"fields": ", ".join(unknown[:10])})
    return body


@router.post(
    "/",
    response={201: WebhookOut, 413: ErrorOut, 422: ErrorOut, **REFUSALS},
    summary="Register a webhook",
    openapi_extra={"requestBody": BODY},
)
def webhook_register(request: HttpRequest):
    """Register an address told of the events named: each delivery is a POST of
    `{"id", "event", "created_at", "data"}` signed with the secret (`X-ADT-Signature:
    t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`), retried with back-off for a day
    until the address answers 2xx. Answers 201 with the webhook, never with its secret.

    `data` of the incident events: `{"incident": {…as GET /api/v1/incidents/ lists it},
    "action", "from_stage", "to_stage", "from_step", "to_step", "by": {"employee_number",
    "name"} | null, "at"}`; of `device.moved`: `{"device": {"serial_number", "project"},
    "from_location", "to_location": {"code", "name", "path"} | null, "from_holder",
    "to_holder", "by", "reason", "at"}`."""
    who = _administrator(request)
    body = _body(request)
    is_active = body.get("is_active", True)
    if not isinstance(is_active, bool):
        raise ApiError(422, "invalid", "is_active: " + _("must be true or false"))
    try:
        hook = webhook_create(
            url=body.get("url"),
            secret=body.get("secret"),
            events=body.get("events"),
            name=body.get("name", ""),
            is_active=is_active,
            created_by=who.person,
        )
    except ValidationError as error:
        message = "; ".join(
            f"{field}: {' '.join(problems)}" for field, problems in error.message_dict.items()
        )
        raise ApiError(422, "invalid", message) from None
    return Status(201, _shown(hook))


@router.get("/", response={200: WebhookPage, **REFUSALS}, summary="List webhooks")
def webhook_list(request: HttpRequest, cursor: Text | None = None, limit: Limit = 50):
    """The registered webhooks, the last registered first (their secrets are never shown)."""
    _administrator(request)
    rows, following = pages.page(Webhook.objects.all(), cursor, limit)
    return {"results": [_shown(row) for row in rows], "next": following}
