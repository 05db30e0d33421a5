"""Sending webhook deliveries: one signed POST per attempt, made by the background worker
(django-tasks, `manage.py db_worker`), never by the request whose change it tells.

The wire (DESIGN.md, "Machines talk to it"): the delivery's JSON body, byte for byte the same on
every attempt, with `X-ADT-Event`, `X-ADT-Delivery` (the delivery's id, the same on every attempt)
and `X-ADT-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`.
A 2xx answer delivers it; anything else (another status, a redirect, a refused connection, a
timeout) is tried again after 30 s, 1, 2, 4 … minutes, at most RETRY_MAX apart, for GIVE_UP_AFTER
from when it was queued; then it is given up (the admin can send it again).

How no delivery is lost, even when its task is: the delivery row, written when the event
happened, is the truth; a task only says "look at this delivery now". An attempt first claims
the row (locked, due, open; its next attempt moved CLAIM ahead), so two tasks for the same
delivery never both send it, and a task whose delivery is not due or not open does nothing.
Tasks can therefore be queued again freely, and are:
- a failed attempt queues its own next attempt, deferred to when it is due;
- every task, once its own delivery is done, queues the open deliveries overdue by more than
  STRANDED_AFTER (their task was lost: a worker killed while sending, a queue emptied);
- a worker starting queues every open delivery (`webhook_deliveries_resume`, called by
  `config/management/commands/db_worker.py`), so a worker down for an hour, or a receiver down
  while the worker restarted, loses nothing.
A worker killed while sending leaves its claim, which lapses after CLAIM: the delivery is then
picked up by the next sweep.

Hostile addresses: only http and https, no credentials in them (refused when registered and
checked again before each attempt), redirects never followed (a 3xx is a failure), the answer's
body read at most RESPONSE_MAX_BYTES and for at most READ_DEADLINE, connections and each read
bounded by TIMEOUT. No proxy from the environment is used.

A delivery is sent at least once: a receiver that answered 2xx while the worker stopped before
writing it down gets it again, under the same id (a receiver keeps the ids it has seen).
Deliveries to one receiver are not ordered: each carries when it happened (`data.at`).
"""

import hashlib
import hmac
import http.client
import logging
import ssl
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlsplit

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from django_tasks import task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from incidents.choices import WebhookDeliveryStatus
from incidents.models import WebhookDelivery
from incidents.models.webhooks import validate_webhook_url

logger = logging.getLogger(__name__)

# Connecting and each read of the answer; the worker is not held longer by a slow receiver.
TIMEOUT = 5.0
# What is read of a receiver's answer (kept in the delivery's last error when it failed), and
# for how long from the start of the attempt.
RESPONSE_MAX_BYTES = 64 * 1024
READ_DEADLINE = 2 * TIMEOUT
ERROR_MAX_CHARS = 500
RETRY_FIRST = timedelta(seconds=30)
RETRY_MAX = timedelta(minutes=30)
GIVE_UP_AFTER = timedelta(days=1)
# How long an attempt holds its delivery: longer than any attempt can take.
CLAIM = timedelta(seconds=2 * TIMEOUT + 30)
# An open delivery due this long ago lost its task: the next task to run queues it again.
STRANDED_AFTER = timedelta(minutes=5)
# Deliveries queued again at most at once by a sweep (the next sweep takes the rest).
SWEEP_BATCH = 500
USER_AGENT = "ADT-Webhooks/1"
# What stays as written in an address's path and query (RFC 3986's reserved and unreserved).
URL_SAFE = "/%:@!$&'()*+,;=?~-._"
# How long the admin keeps a delivery that was delivered or given up.
KEEP_DONE = timedelta(days=30)


def signature(secret: str, body: bytes, at: int) -> str:
    """The X-ADT-Signature header for `body` sent at `at` (unix seconds)."""
    signed = f"{at}.".encode() + body
    digest = hmac.new(secret.encode("utf-8", "surrogatepass"), signed, hashlib.sha256)
    return f"t={at},v1={digest.hexdigest()}"


def retry_delay(attempts: int) -> timedelta:
    """How long after its `attempts`-th failed attempt a delivery is tried again."""
    if attempts >= 20:  # far past the cap; 2 ** attempts would only grow
        return RETRY_MAX
    return min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX)


@dataclass
class Answer:
    """What came of one attempt: the receiver's status, or why there was none."""

    status: int | None = None
    error: str = ""
    duration_ms: int = 0
    final: bool = False  # not worth trying again (the address itself is refused)

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _connection(url: str) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    # Letters beyond ASCII in the path or the query are sent %-escaped, as a browser does.
    target = quote(parts.path or "/", safe=URL_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=URL_SAFE)
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname,
            parts.port,
            timeout=TIMEOUT,
            context=ssl.create_default_context(),
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
    return connection, target


def _read_bounded(response: http.client.HTTPResponse, deadline: float) -> bytes:
    """At most RESPONSE_MAX_BYTES of the answer, read until `deadline` (a receiver trickling
    its answer byte by byte does not hold the worker)."""
    chunks, size = [], 0
    while size < RESPONSE_MAX_BYTES and time.monotonic() < deadline:
        chunk = response.read1(min(16 * 1024, RESPONSE_MAX_BYTES - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _post(url: str, headers: dict, body: bytes) -> Answer:
    """One POST; never raises for anything the receiver or the network does."""
    started = time.monotonic()
    answer = Answer()
    try:
        validate_webhook_url(url)
    except ValidationError as error:
        return Answer(error="; ".join(error.messages), final=True)
    connection, target = _connection(url)
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        answer.status = response.status
        text = _read_bounded(response, started + READ_DEADLINE)
        if not answer.delivered:
            reason = f"HTTP {response.status} {response.reason}"
            if 300 <= response.status < 400:
                reason += f" (redirects are not followed: {response.getheader('Location', '')})"
            shown = text.decode("utf-8", "replace").replace("\x00", "")
            answer.error = f"{reason}: {shown}"[:ERROR_MAX_CHARS] if shown else reason
    except (OSError, http.client.HTTPException, ValueError) as error:
        kind = "timeout" if isinstance(error, TimeoutError) else "error"
        answer.error = f"{kind}: {type(error).__name__}: {error}"[:ERROR_MAX_CHARS]
    finally:
        connection.close()
        answer.duration_ms = round((time.monotonic() - started) * 1000)
    return answer


def delivery_send(delivery: WebhookDelivery) -> Answer:
    """POST the delivery to its webhook, signed now; the delivery is not changed."""
    body = delivery.payload.encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-ADT-Event": delivery.event,
        "X-ADT-Delivery": str(delivery.pk),
        "X-ADT-Signature": signature(delivery.webhook.secret, body, int(time.time())),
    }
    return _post(delivery.webhook.url, headers, body)


def _claim(delivery_id) -> WebhookDelivery | None:
    """The delivery, held for one attempt, when it is open and due (else None)."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("webhook")
            .filter(
                pk=delivery_id,
                status__in=WebhookDelivery.OPEN,
                next_attempt_at__lte=now,
            )
            .first()
        )
        if delivery is None:
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + CLAIM
        delivery.save(update_fields=["attempts", "next_attempt_at", "updated_at"])
    return delivery


def webhook_delivery_attempt(*, delivery_id) -> WebhookDelivery | None:
    """Make one attempt of the delivery if it is open and due, and record what came of it;
    the delivery as it then stands (None when there was nothing to do). A failed attempt
    queues the next one."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    hook = delivery.webhook
    if not hook.is_active:
        answer = Answer(error="The webhook is turned off.", final=True)
    else:
        try:
            answer = delivery_send(delivery)
        except Exception as error:  # whatever it is, the attempt ends as a failure written down
            logger.exception("Webhook delivery %s could not be sent", delivery.pk)
            answer = Answer(error=f"error: {type(error).__name__}: {error}"[:ERROR_MAX_CHARS])
    now = timezone.now()
    delivery.last_response_code = answer.status
    delivery.duration_ms = answer.duration_ms
    delivery.last_error = answer.error
    if answer.delivered:
        delivery.status = WebhookDeliveryStatus.DELIVERED
        delivery.delivered_at, delivery.next_attempt_at = now, None
    elif answer.final or now + retry_delay(delivery.attempts) > delivery.created_at + GIVE_UP_AFTER:
        delivery.status, delivery.next_attempt_at = WebhookDeliveryStatus.GAVE_UP, None
    else:
        delivery.status = WebhookDeliveryStatus.FAILED
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)
    # Only the attempt that holds it writes: one made meanwhile (its claim lapsed) counted one
    # more attempt, and what it found stands.
    WebhookDelivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts).update(
        status=delivery.status,
        last_response_code=delivery.last_response_code,
        duration_ms=delivery.duration_ms,
        last_error=delivery.last_error,
        delivered_at=delivery.delivered_at,
        next_attempt_at=delivery.next_attempt_at,
        updated_at=now,
    )
    if delivery.status == WebhookDeliveryStatus.FAILED:
        webhook_deliveries_queue([delivery.pk], at=delivery.next_attempt_at)
    return delivery


def webhook_deliveries_queue(delivery_ids, *, at=None) -> None:
    """Queue an attempt of each delivery, at `at` (now when None). A queue that cannot defer
    (the immediate one, in tests) is not asked to: the sweeps bring the attempt back."""
    ids = [str(pk) for pk in delivery_ids]
    if not ids:
        return
    runner = webhook_deliver
    if at is not None and at > timezone.now():
        if not webhook_deliver.get_backend().supports_defer:
            return
        runner = webhook_deliver.using(run_after=at)
    try:
        runner.enqueue(delivery_ids=ids)
    except Exception:  # the rows stay open: a sweep queues them again
        logger.exception("Could not queue webhook deliveries %s", ids[:10])


def webhook_deliveries_queue_on_commit(delivery_ids) -> None:
    """Queue an attempt of each delivery written in the current transaction. A queue kept in
    this database (django-tasks-db) is written in the same transaction: the change, its
    deliveries and their task commit as one. Another queue is asked once the deliveries have
    committed. A failure to queue keeps the deliveries (a sweep queues them)."""
    ids = [str(pk) for pk in delivery_ids]
    if not isinstance(webhook_deliver.get_backend(), DatabaseBackend):
        transaction.on_commit(lambda: webhook_deliveries_queue(ids))
        return
    try:
        with transaction.atomic():
            webhook_deliver.enqueue(delivery_ids=ids)
    except DatabaseError:
        logger.exception("Could not queue webhook deliveries %s", ids[:10])


def webhook_deliveries_resume(*, overdue_by: timedelta = timedelta(0)) -> int:
    """Queue again the open deliveries due more than `overdue_by` ago (all open deliveries
    when it is zero: those not yet due are queued for when they are). Each is first marked
    due now, so the next sweep does not queue it again. Returns how many were queued."""
    now = timezone.now()
    with transaction.atomic():
        stranded = WebhookDelivery.objects.select_for_update(skip_locked=True).filter(
            status__in=WebhookDelivery.OPEN, next_attempt_at__lte=now - overdue_by
        )
        ids = list(stranded.order_by("next_attempt_at").values_list("pk", flat=True)[:SWEEP_BATCH])
        WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now, updated_at=now)
    transaction.on_commit(lambda: webhook_deliveries_queue(ids))
    later = 0
    if not overdue_by:
        waiting = WebhookDelivery.objects.filter(
            status__in=WebhookDelivery.OPEN, next_attempt_at__gt=now
        ).values_list("pk", "next_attempt_at")
        for pk, due in waiting.iterator():
            webhook_deliveries_queue([pk], at=due)
            later += 1
    return len(ids) + later


def webhook_deliveries_remove_old(*, now=None) -> int:
    """Remove the deliveries done with (delivered or given up) more than KEEP_DONE ago, and
    the finished tasks that sent them; how many deliveries were removed. Run when a worker
    starts and by the daily digest."""
    cutoff = (now or timezone.now()) - KEEP_DONE
    removed, _by_model = WebhookDelivery.objects.filter(
        status__in=(WebhookDeliveryStatus.DELIVERED, WebhookDeliveryStatus.GAVE_UP),
        updated_at__lt=cutoff,
    ).delete()
    DBTaskResult.objects.finished().filter(
        task_path__endswith=".webhook_deliver", finished_at__lt=cutoff
    ).delete()
    return removed


@task()
def webhook_deliver(*, delivery_ids: list[str]) -> None:
    """Attempt webhook deliveries (incidents.WebhookDelivery). Several are handed on, one
    task each, so that a slow receiver does not hold the others; then the deliveries whose
    task was lost are queued again."""
    if len(delivery_ids) > 1:
        for delivery_id in delivery_ids:
            webhook_deliveries_queue([delivery_id])
        return
    for delivery_id in delivery_ids:
        try:
            webhook_delivery_attempt(delivery_id=delivery_id)
        except (ValueError, ValidationError):  # not a delivery id: nothing to send
            logger.warning("No webhook delivery %r to attempt", delivery_id)
    webhook_deliveries_resume(overdue_by=STRANDED_AFTER)
