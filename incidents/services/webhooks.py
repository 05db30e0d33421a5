"""Webhooks: the factory's MES (or any system) told of every change it subscribed to.

An administrator registers an address, a secret and the events (`webhook_create`, the admin,
`POST /api/v1/webhooks/`). When an event happens, its deliveries are written in the change's own
transaction (an outbox: the workflow's `announce` calls `incident_event_outbox`, a move's
`device_move_written` signal reaches `device_move_outbox`, connected in IncidentsConfig.ready()):
one delivery per active webhook that hears the event, its body fixed then, and a single
background task for them all. They commit with the change or not at all, and the request pays
no commit of its own for them (one read of the webhooks when none hears it). The POSTs are made
by the worker (incidents.services.webhook_sending) once it has all committed, retried with
back-off for a day; a failure to write the deliveries is logged and never fails the change.

Events (incidents.choices.WebhookEvent): `incident.opened`; `incident.stage_changed` for every
move to another stage (an approval, a cancellation); `incident.closed` when that stage ends the
incident (returned, scrapped, cancelled), after its `incident.stage_changed`; `device.moved` for a
move made now (an old move told late, e.g. by an import, is history, not news). Incidents and
devices of a restricted project are not told, as a token does not see them.
"""

import json
import logging
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from incidents import access
from incidents.api import shapes
from incidents.choices import (
    TERMINAL_STAGES,
    WebhookDeliveryStatus,
    WebhookEvent,
    WorkflowAction,
)
from incidents.models import Employee, IncidentEvent, Webhook, WebhookDelivery
from incidents.models.webhooks import (
    WEBHOOK_SECRET_MAX_LENGTH,
    WEBHOOK_URL_MAX_LENGTH,
    validate_webhook_url,
)
from incidents.services.webhook_sending import (
    webhook_deliveries_queue,
    webhook_deliveries_queue_on_commit,
)
from locations import reasons
from locations.models import Device
from locations.selectors import trail_step

logger = logging.getLogger(__name__)

NAME_MAX_CHARS = 100
SECRET_MIN_CHARS = 16


# --- registering ---------------------------------------------------------------------------
def _text_problem(value) -> str | None:
    if not isinstance(value, str):
        return _("must be text")
    if not value.isprintable():
        return _("holds characters that are not text")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _("holds characters that are not text")
    return None


def webhook_check(*, url, secret, events, name="") -> dict[str, str]:
    """What is wrong with a webhook as given, by field (empty when nothing)."""
    errors = {}
    if (problem := _text_problem(url)) is not None:
        errors["url"] = problem
    elif len(url) > WEBHOOK_URL_MAX_LENGTH:
        errors["url"] = _("An address is at most %(max)s characters.") % {
            "max": WEBHOOK_URL_MAX_LENGTH
        }
    else:
        try:
            validate_webhook_url(url)
        except ValidationError as error:
            errors["url"] = error.messages[0]
    if (problem := _text_problem(secret)) is not None:
        errors["secret"] = problem
    elif not SECRET_MIN_CHARS <= len(secret) <= WEBHOOK_SECRET_MAX_LENGTH:
        errors["secret"] = _("A secret is %(min)s to %(max)s characters.") % {
            "min": SECRET_MIN_CHARS,
            "max": WEBHOOK_SECRET_MAX_LENGTH,
        }
    if not isinstance(events, list | tuple) or not all(isinstance(e, str) for e in events):
        errors["events"] = _("must be a list of events")
    elif unknown := sorted({event for event in events if event not in WebhookEvent.values}):
        errors["events"] = _("Unknown event: %(events)s. Known: %(known)s.") % {
            "events": ", ".join(unknown)[:200],
            "known": ", ".join(WebhookEvent.values),
        }
    elif not events:
        errors["events"] = _("Choose at least one event.")
    if (problem := _text_problem(name)) is not None:
        errors["name"] = problem
    elif len(name.strip()) > NAME_MAX_CHARS:
        errors["name"] = _("A name is at most %(max)s characters.") % {"max": NAME_MAX_CHARS}
    return errors


def _ordered(events) -> list[str]:
    return [event for event in WebhookEvent.values if event in events]


@transaction.atomic
def webhook_create(
    *,
    url: str,
    secret: str,
    events: list[str],
    name: str = "",
    is_active: bool = True,
    created_by: Employee | None = None,
) -> Webhook:
    """Register a webhook (ValidationError by field when something given is wrong)."""
    if errors := webhook_check(url=url, secret=secret, events=events, name=name):
        raise ValidationError(errors)
    url = url.strip()
    hook = Webhook(
        name=name.strip() or url.split("//", 1)[-1][:NAME_MAX_CHARS],
        url=url,
        secret=secret,
        events=_ordered(events),
        is_active=is_active,
        created_by=created_by,
    )
    hook.save()
    return hook


@transaction.atomic
def webhook_update(
    *,
    webhook: Webhook,
    url: str,
    events: list[str],
    name: str,
    is_active: bool,
    secret: str | None = None,
) -> Webhook:
    """Change a webhook; its secret only when a new one is given."""
    secret = webhook.secret if secret in (None, "") else secret
    if errors := webhook_check(url=url, secret=secret, events=events, name=name):
        raise ValidationError(errors)
    webhook.url, webhook.secret, webhook.events = url.strip(), secret, _ordered(events)
    webhook.name = name.strip() or webhook.name
    webhook.is_active = is_active
    webhook.save()
    return webhook


def webhook_delivery_send_again(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue a fresh attempt of the delivery, now, with the same id and body; if it fails it
    is tried again with back-off for a day from now, as a new delivery would be."""
    now = timezone.now()
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDeliveryStatus.PENDING,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        transaction.on_commit(lambda: webhook_deliveries_queue([delivery.pk]))
    delivery.refresh_from_db()
    return delivery


# --- telling the events ----------------------------------------------------------------------
def _hooks_hearing(events: set[str]) -> list[Webhook]:
    """The active webhooks that hear any of `events` (few: read whole, filtered here, which
    every database does alike)."""
    if not events:
        return []
    return [hook for hook in Webhook.objects.filter(is_active=True) if set(hook.events) & events]


def _body(delivery_id: uuid.UUID, event: str, at, data: dict) -> str:
    payload = {"id": str(delivery_id), "event": event, "created_at": at, "data": data}
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"))


def deliveries_write(told: list[tuple[str, dict]], hooks: list[Webhook]) -> list[WebhookDelivery]:
    """One delivery per webhook hearing each (event, data) told, and a task queued for them,
    in the current transaction (a new one outside any): the worker sees them once it has
    committed."""
    now = timezone.now()
    deliveries = []
    for event, data in told:
        for hook in hooks:
            if hook.hears(event):
                pk = uuid.uuid4()
                deliveries.append(
                    WebhookDelivery(
                        id=pk,
                        webhook=hook,
                        event=event,
                        payload=_body(pk, event, now, data),
                        created_at=now,
                        next_attempt_at=now,
                    )
                )
    if not deliveries:
        return []
    with transaction.atomic(savepoint=False):
        WebhookDelivery.objects.bulk_create(deliveries)
        webhook_deliveries_queue_on_commit([delivery.pk for delivery in deliveries])
    return deliveries


def incident_event_names(event: IncidentEvent) -> list[str]:
    """The webhook events a timeline entry is."""
    if event.action == WorkflowAction.OPEN:
        return [WebhookEvent.INCIDENT_OPENED]
    if event.action == WorkflowAction.IMPORT or event.from_stage == event.to_stage:
        return []
    names = [WebhookEvent.INCIDENT_STAGE_CHANGED]
    if event.to_stage in TERMINAL_STAGES and event.from_stage not in TERMINAL_STAGES:
        names.append(WebhookEvent.INCIDENT_CLOSED)
    return names


def incident_event_data(event: IncidentEvent) -> dict:
    """What a webhook is told of an incident's change: the incident as the API shows it and
    the change itself."""
    return {
        "incident": shapes.incident(event.incident),
        "action": event.action,
        "from_stage": event.from_stage,
        "to_stage": event.to_stage,
        "from_step": event.from_step,
        "to_step": event.to_step,
        "by": shapes.person(event.actor),
        "at": event.created_at,
    }


def webhooks_tell_incident_event(*, event: IncidentEvent) -> list[WebhookDelivery]:
    """The deliveries for a timeline entry, written in the current transaction."""
    names = incident_event_names(event)
    if not names:
        return []
    hooks = _hooks_hearing(set(names))
    if not hooks or not access.may_see_incident(event.incident, None):
        return []
    data = incident_event_data(event)
    return deliveries_write([(name, data) for name in names], hooks)


def device_move_data(device: Device, history_id: int) -> dict | None:
    """What a webhook is told of a move: the device, where it was and is, who holds it, who
    moved it, why and when (None when the trail has no such entry)."""
    step = trail_step(device, history_id)
    if step is None:
        return None
    record, previous = step
    at = record.history_date
    places = [record.location, previous.location if previous else None]
    known = shapes.paths(places)
    with translation.override(settings.LANGUAGE_CODE):
        reason = reasons.text(record.history_change_reason)
    return {
        "device": {"serial_number": device.serial_number, "project": device.project},
        "from_location": shapes.place(previous.location if previous else None, known),
        "to_location": shapes.place(record.location, known),
        "from_holder": shapes.person(previous.holder if previous else None),
        "to_holder": shapes.person(record.holder),
        "by": shapes.person(record.history_user),
        "reason": reason,
        "at": at,
    }


def webhooks_tell_device_moved(*, device: Device, history_id: int | None) -> list:
    """The deliveries for a move, written in the current transaction."""
    if history_id is None:
        return []
    hooks = _hooks_hearing({WebhookEvent.DEVICE_MOVED})
    if not hooks or not access.may_see_device(device, None):
        return []
    data = device_move_data(device, history_id)
    if data is None:
        return []
    return deliveries_write([(WebhookEvent.DEVICE_MOVED, data)], hooks)


# --- the outbox: inside the change's transaction ----------------------------------------------
def incident_event_outbox(event: IncidentEvent) -> None:
    """Called by the workflow's `announce` for each timeline entry, inside its transaction. In
    a savepoint: a failure loses these deliveries (logged), never the change."""
    try:
        with transaction.atomic():
            webhooks_tell_incident_event(event=event)
    except Exception:
        logger.exception("Could not write the webhooks of timeline entry %s", event.pk)


def device_move_outbox(sender, *, device, history_id, backdated: bool, **kwargs) -> None:
    """Receiver of `locations.signals.device_move_written`: a move made now, not an old one
    told late; in a savepoint, as above."""
    if backdated:
        return
    try:
        with transaction.atomic():
            webhooks_tell_device_moved(device=device, history_id=history_id)
    except Exception:
        logger.exception("Could not write the webhooks of the move of device %s", device.pk)
