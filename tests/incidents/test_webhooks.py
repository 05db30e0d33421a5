"""Webhooks: the factory's MES hears every change. A real HTTP receiver on 127.0.0.1 fails,
recovers, and checks every signature; deliveries are written in the change's own transaction
(they commit with it or not at all) and sent by the background task once it has committed (never
by the request), retried with back-off under the same id for a day,
sent again on demand, and never lost when their task is."""

import signal
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import DatabaseError, transaction
from django.db.models import F
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from incidents.choices import Stage, Verdict, WebhookDeliveryStatus, WebhookEvent
from incidents.models import Incident, ProjectAccess, Webhook, WebhookDelivery
from incidents.services import incident_cancel
from incidents.services import webhook_sending as sending
from incidents.services.webhook_sending import (
    CLAIM,
    GIVE_UP_AFTER,
    RETRY_MAX,
    retry_delay,
    signature,
    webhook_deliveries_resume,
    webhook_delivery_attempt,
)
from incidents.services.webhooks import webhook_create, webhook_delivery_send_again
from locations.services import device_move
from tests.factories import DeviceFactory, LocationFactory
from tests.incidents.test_workflow import build_team, open_incident, walk_stage
from tests.incidents.webhook_receiver import Receiver, signature_valid

pytestmark = pytest.mark.django_db
QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
SECRET = "whsec-the-mes-and-the-product-share-this"
EVERY_EVENT = list(WebhookEvent.values)


@pytest.fixture
def receiver():
    found = Receiver(secret=SECRET).start()
    yield found
    found.stop()


@pytest.fixture
def queue(settings):
    settings.TASKS = QUEUE


@pytest.fixture
def hook(receiver, queue):
    return webhook_create(url=receiver.url, secret=SECRET, events=EVERY_EVENT, name="MES")


@pytest.fixture
def team(db):
    return build_team()


def committed():
    """Runs what waits for the commit (the signals, then the queueing), as a real commit
    would."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def work_the_queue(rounds: int = 20) -> int:
    """Run the webhook tasks that are due, as `manage.py db_worker` would, and those they queue
    in turn; how many ran."""
    ran = 0
    for _round in range(rounds):
        due = list(DBTaskResult.objects.ready().filter(task_path__endswith=".webhook_deliver"))
        if not due:
            break
        for row in due:
            DBTaskResult.objects.filter(pk=row.pk).update(status=TaskResultStatus.SUCCESSFUL)
            with committed():
                row.task.func(*row.args_kwargs["args"], **row.args_kwargs["kwargs"])
            ran += 1
    return ran


def time_passes(delta: timedelta) -> None:
    """Everything written so far happened `delta` earlier (the clock itself is not touched)."""
    WebhookDelivery.objects.update(
        created_at=F("created_at") - delta, next_attempt_at=F("next_attempt_at") - delta
    )
    DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(
        run_after=F("run_after") - delta
    )


def only_delivery() -> WebhookDelivery:
    return WebhookDelivery.objects.select_related("webhook").get()


class WholeLifeTests:
    def test_the_mes_hears_every_change_of_an_incidents_life_signed_after_a_failure(
        self, hook, receiver, team
    ):
        receiver.answer(500, 200)  # down for the first request, then up
        with committed():
            incident = open_incident(team)
        with committed():
            incident = walk_stage(incident, team)  # reported -> FAE retest
        with committed():
            incident = walk_stage(incident, team, Verdict.PASS)  # -> returned to the line
        with committed():
            device_move(
                device=incident.device,
                moved_by=team.admin,
                location=LocationFactory(),
                reason="Back",
            )
        assert incident.stage == Stage.RETURNED
        assert receiver.received == []  # nothing sent yet: the worker sends

        work_the_queue()
        first = WebhookDelivery.objects.get(event=WebhookEvent.INCIDENT_OPENED)
        failed = [d for d in WebhookDelivery.objects.all() if d.status == "failed"]
        assert len(failed) == 1 and failed[0].last_response_code == 500
        assert failed[0].attempts == 1 and "HTTP 500" in failed[0].last_error
        time_passes(retry_delay(1))
        work_the_queue()

        events = [r.event for r in receiver.received]
        assert sorted(events) == sorted(
            [
                "incident.opened",
                "incident.stage_changed",
                "incident.stage_changed",
                "incident.closed",
                "device.moved",
                failed[0].event,  # sent twice: failed, then delivered
            ]
        )
        assert all(r.signature_valid for r in receiver.received)
        assert all(d.status == "delivered" for d in WebhookDelivery.objects.all())
        retried = [r for r in receiver.received if r.delivery == str(failed[0].pk)]
        assert len(retried) == 2 and retried[0].body == retried[1].body
        opened = next(r for r in receiver.received if r.delivery == str(first.pk)).json
        assert opened["id"] == str(first.pk) and opened["event"] == "incident.opened"
        assert opened["data"]["incident"]["id"] == incident.pk
        assert opened["data"]["incident"]["serial_number"] == incident.device.serial_number
        closed = next(r for r in receiver.received if r.event == "incident.closed").json
        assert closed["data"]["to_stage"] == Stage.RETURNED
        moved = next(r for r in receiver.received if r.event == "device.moved").json
        assert moved["data"]["device"]["serial_number"] == incident.device.serial_number
        assert moved["data"]["reason"] == "Back" and moved["data"]["by"]["name"]
        assert {r.path for r in receiver.received} == {"/hooks/adt"}

    def test_a_cancelled_incident_is_a_stage_change_and_a_close(self, hook, receiver, team):
        with committed():
            incident = open_incident(team)
        with committed():
            incident_cancel(incident=incident, by=team.admin, reason="Duplicate")
        work_the_queue()

        assert [r.event for r in receiver.received] == [
            "incident.opened",
            "incident.stage_changed",
            "incident.closed",
        ]

    def test_a_hook_hears_only_the_events_it_chose_and_an_inactive_one_nothing(
        self, receiver, queue, team
    ):
        webhook_create(url=receiver.url, secret=SECRET, events=["incident.closed"])
        webhook_create(url=receiver.url, secret=SECRET, events=EVERY_EVENT, is_active=False)
        with committed():
            incident = open_incident(team)
            device_move(device=incident.device, moved_by=team.admin, location=LocationFactory())

        assert not WebhookDelivery.objects.exists()

    def test_an_old_move_told_late_and_a_restricted_project_are_not_told(self, hook, team):
        device = DeviceFactory(project="SECRET-X")
        ProjectAccess.objects.create(project="SECRET-X")
        with committed():
            device_move(device=device, moved_by=team.admin, location=LocationFactory())
            device_move(
                device=DeviceFactory(),
                moved_by=team.admin,
                location=LocationFactory(),
                at=device.created_at - timedelta(days=3),
            )

        assert not WebhookDelivery.objects.exists()

    def test_a_rolled_back_change_tells_nothing(self, hook, team):
        with committed():
            try:
                with transaction.atomic():
                    open_incident(team)
                    raise RuntimeError("rolled back")
            except RuntimeError:
                pass

        assert not WebhookDelivery.objects.exists()

    def test_the_deliveries_and_their_task_are_written_in_the_changes_transaction(self, hook, team):
        with transaction.atomic():
            incident = open_incident(team)
            # Before the change commits: its delivery and the task that sends it are there.
            assert only_delivery().event == "incident.opened"
            assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 1
            device_move(device=incident.device, moved_by=team.admin, location=LocationFactory())
            assert set(WebhookDelivery.objects.values_list("event", flat=True)) == {
                "incident.opened",
                "device.moved",
            }

    def test_a_failure_to_write_the_deliveries_never_fails_the_change(
        self, hook, team, monkeypatch
    ):
        def table_broken(*args, **kwargs):
            raise DatabaseError("the deliveries' table cannot be written")

        monkeypatch.setattr(WebhookDelivery.objects, "bulk_create", table_broken)
        with committed():
            incident = open_incident(team)

        assert Incident.objects.filter(pk=incident.pk).exists()
        assert not WebhookDelivery.objects.exists()


class RequestTests:
    def test_the_request_does_not_wait_for_a_slow_receiver(self, hook, receiver, team, client):
        """A receiver taking 3 s: the change and everything done when it commits take a
        fraction of that, the POST is made by the task afterwards."""
        receiver.delay = 3.0
        started = time.monotonic()
        with committed():
            open_incident(team)
        assert time.monotonic() - started < 1.0
        assert receiver.received == []
        assert only_delivery().status == WebhookDeliveryStatus.PENDING
        assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 1

        work_the_queue()

        assert len(receiver.received) == 1 and only_delivery().status == "delivered"
        assert only_delivery().duration_ms >= 3000

    def test_the_admins_cancel_page_does_not_wait_for_a_slow_receiver(
        self, hook, receiver, team, client
    ):
        receiver.delay = 3.0
        incident = open_incident(team)
        client.force_login(team.admin)
        url = reverse("admin:incidents_incident_cancel_action", args=[incident.pk])
        form = {"expected_stage": incident.stage, "expected_step": incident.step, "reason": "Dup"}

        started = time.monotonic()
        with committed():
            answer = client.post(url, form)
        assert answer.status_code == 302
        assert time.monotonic() - started < 1.5
        assert receiver.received == []
        # The opening's delivery was written with it, before the page was asked.
        assert set(WebhookDelivery.objects.values_list("event", "status")) == {
            ("incident.opened", "pending"),
            ("incident.stage_changed", "pending"),
            ("incident.closed", "pending"),
        }


class RetryTests:
    def delivered_once(self, receiver, team, *statuses):
        receiver.answer(*statuses)
        with committed():
            open_incident(team)
        work_the_queue()
        return only_delivery()

    def test_back_off_doubles_from_30_seconds_up_to_its_cap(self):
        assert [retry_delay(n).total_seconds() for n in range(1, 6)] == [30, 60, 120, 240, 480]
        assert retry_delay(10) == RETRY_MAX == retry_delay(10_000)

    def test_a_receiver_down_for_an_hour_loses_nothing(self, hook, receiver, team):
        delivery = self.delivered_once(receiver, team, 503)
        waited = timedelta(0)
        while waited < timedelta(hours=1):
            delivery.refresh_from_db()
            step = delivery.next_attempt_at - delivery.updated_at + timedelta(seconds=1)
            time_passes(step)
            waited += step
            work_the_queue()
        receiver.answer(200)
        delivery.refresh_from_db()
        time_passes(delivery.next_attempt_at - delivery.updated_at + timedelta(seconds=1))
        work_the_queue()

        delivery.refresh_from_db()
        assert delivery.status == WebhookDeliveryStatus.DELIVERED
        assert delivery.attempts == len(receiver.received) > 5
        assert {r.delivery for r in receiver.received} == {str(delivery.pk)}
        assert len({r.body for r in receiver.received}) == 1
        assert all(r.signature_valid for r in receiver.received)

    def test_after_a_day_of_failures_it_gives_up(self, hook, receiver, team):
        delivery = self.delivered_once(receiver, team, 500)
        time_passes(GIVE_UP_AFTER)
        work_the_queue()

        delivery.refresh_from_db()
        assert delivery.status == WebhookDeliveryStatus.GAVE_UP
        assert delivery.next_attempt_at is None and delivery.attempts == 2
        assert not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists()

    def test_send_again_makes_a_fresh_attempt_with_the_same_id(self, hook, receiver, team):
        delivery = self.delivered_once(receiver, team, 500)
        time_passes(GIVE_UP_AFTER)
        work_the_queue()
        receiver.answer(200)

        with committed():
            webhook_delivery_send_again(delivery=delivery)
        work_the_queue()

        delivery.refresh_from_db()
        assert delivery.status == WebhookDeliveryStatus.DELIVERED and delivery.attempts == 3
        assert [r.delivery for r in receiver.received] == [str(delivery.pk)] * 3
        assert receiver.received[2].signature_valid

    def test_a_redirect_is_not_followed(self, hook, receiver, team):
        receiver.headers = {"Location": "http://127.0.0.1:1/elsewhere"}
        delivery = self.delivered_once(receiver, team, 302)

        assert delivery.status == WebhookDeliveryStatus.FAILED
        assert delivery.last_response_code == 302 and "not followed" in delivery.last_error
        assert len(receiver.received) == 1

    def test_a_huge_answer_is_read_only_in_part(self, hook, receiver, team):
        receiver.answer_body = b"x" * (5 * 1024 * 1024)
        delivery = self.delivered_once(receiver, team, 500)

        assert delivery.status == WebhookDeliveryStatus.FAILED
        assert len(delivery.last_error) <= sending.ERROR_MAX_CHARS

    def test_an_answer_trickled_byte_by_byte_does_not_hold_the_worker(
        self, hook, receiver, team, monkeypatch
    ):
        monkeypatch.setattr(sending, "READ_DEADLINE", 0.5)
        receiver.answer_body, receiver.trickle = b"slow" * 100, 0.1
        delivery = self.delivered_once(receiver, team, 500)

        assert delivery.status == WebhookDeliveryStatus.FAILED
        assert delivery.duration_ms < 2000 and delivery.last_error.startswith("HTTP 500")

    def test_a_receiver_that_does_not_answer_in_time_is_a_failure(
        self, hook, receiver, team, monkeypatch
    ):
        monkeypatch.setattr(sending, "TIMEOUT", 0.3)
        receiver.delay = 1.0
        delivery = self.delivered_once(receiver, team, 200)

        assert delivery.status == WebhookDeliveryStatus.FAILED
        assert delivery.last_error.startswith("timeout") and delivery.duration_ms < 1000

    def test_a_receiver_that_is_not_there_is_a_failure(self, receiver, queue, team):
        receiver.stop()
        webhook_create(url=receiver.url, secret=SECRET, events=EVERY_EVENT)
        with committed():
            open_incident(team)
        work_the_queue()
        receiver.start()  # for the fixture's stop

        delivery = only_delivery()
        assert delivery.status == WebhookDeliveryStatus.FAILED
        assert delivery.last_response_code is None and "Connection" in delivery.last_error

    def test_an_unforeseen_error_while_sending_is_a_failure_tried_again(
        self, hook, receiver, team, monkeypatch
    ):
        def broken(delivery):
            raise RuntimeError("something nobody foresaw")

        monkeypatch.setattr(sending, "delivery_send", broken)
        delivery = self.delivered_once(receiver, team, 200)

        assert delivery.status == WebhookDeliveryStatus.FAILED
        assert "something nobody foresaw" in delivery.last_error
        assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 1

    def test_an_address_with_letters_beyond_ascii_is_sent_escaped(self, receiver, queue, team):
        webhook_create(url=receiver.url + "/产线?line=三", secret=SECRET, events=EVERY_EVENT)
        with committed():
            open_incident(team)
        work_the_queue()

        assert only_delivery().status == WebhookDeliveryStatus.DELIVERED
        assert receiver.received[0].path == "/hooks/adt/%E4%BA%A7%E7%BA%BF?line=%E4%B8%89"

    def test_an_address_changed_behind_the_admins_back_is_refused_before_sending(
        self, hook, receiver, team
    ):
        Webhook.objects.update(url=receiver.url.replace("http://", "http://user:pw@"))
        delivery = self.delivered_once(receiver, team, 200)

        assert delivery.status == WebhookDeliveryStatus.GAVE_UP
        assert receiver.received == [] and "password" in delivery.last_error


class LostTaskTests:
    def test_a_delivery_whose_task_was_lost_goes_out_when_the_worker_starts(
        self, hook, receiver, team
    ):
        with committed():
            open_incident(team)
        DBTaskResult.objects.all().delete()  # the queue lost it

        with committed():
            assert webhook_deliveries_resume() == 1
        work_the_queue()

        assert only_delivery().status == WebhookDeliveryStatus.DELIVERED
        assert len(receiver.received) == 1

    def test_a_delivery_stranded_while_sending_is_picked_up_by_the_next_task(
        self, hook, receiver, team
    ):
        with committed():
            open_incident(team)
        DBTaskResult.objects.all().delete()
        # A worker claimed it, then died while sending: its claim lapses.
        WebhookDelivery.objects.update(attempts=1, next_attempt_at=F("created_at") + CLAIM)
        time_passes(CLAIM + sending.STRANDED_AFTER + timedelta(seconds=1))
        with committed():
            open_incident(team)  # another event: its task sweeps

        work_the_queue()

        assert WebhookDelivery.objects.filter(status="delivered").count() == 2
        assert len(receiver.received) == 2

    def test_two_tasks_for_one_delivery_send_it_once(self, hook, receiver, team):
        with committed():
            open_incident(team)
        delivery = only_delivery()
        with committed():
            webhook_deliveries_resume()  # a second task for the same delivery

        assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 2
        work_the_queue()

        assert len(receiver.received) == 1
        assert webhook_delivery_attempt(delivery_id=delivery.pk) is None

    def test_a_failure_to_queue_keeps_the_deliveries_for_the_sweep(
        self, hook, receiver, team, monkeypatch
    ):
        def queue_table_broken(*args, **kwargs):
            raise DatabaseError("the queue's table cannot be written")

        monkeypatch.setattr(DBTaskResult.objects, "create", queue_table_broken)
        with committed():
            open_incident(team)
        monkeypatch.undo()

        assert only_delivery().status == WebhookDeliveryStatus.PENDING
        assert not DBTaskResult.objects.exists()
        with committed():
            webhook_deliveries_resume()
        work_the_queue()
        assert only_delivery().status == WebhookDeliveryStatus.DELIVERED


# The worker closes connections between tasks; the rows of the data migrations (roles) are put
# back for the tests after it.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_starting_sends_what_was_left_behind(receiver, queue, restore_signals):
    """Deliveries left by a worker that stopped (one never sent, its task lost; one failed,
    due again) go out when a worker starts, signed, under their ids."""
    team = build_team()
    webhook_create(url=receiver.url, secret=SECRET, events=EVERY_EVENT)
    receiver.answer(500, 200)
    open_incident(team)  # committed: its delivery and task are written
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    failed = only_delivery()
    assert failed.status == WebhookDeliveryStatus.FAILED  # its retry waits 30 s in the queue
    incident = open_incident(team)
    DBTaskResult.objects.all().delete()  # the worker stopped; its queue was lost
    WebhookDelivery.objects.filter(pk=failed.pk).update(next_attempt_at=timezone.now())

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert [r.delivery for r in receiver.received].count(str(failed.pk)) == 2
    assert all(r.signature_valid for r in receiver.received)
    assert any(r.json["data"]["incident"]["id"] == incident.pk for r in receiver.received)


@pytest.fixture
def restore_signals():
    """The worker installs its own SIGINT/SIGTERM handlers; give pytest its own back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


class RegisterTests:
    @pytest.mark.parametrize(
        "url",
        [
            "ftp://mes.example/hook",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "http://user:password@mes.example/hook",
            "http://user@mes.example/hook",
            "http:///nohost",
            "mes.example/hook",
            "http://mes.example/ho ok",
            "http://mes.example/\r\nX-Evil: 1",
            "http://mes.example:99999/",
            "http://mes.example/\x00",
            "http://\ud800.example/",
            "http://" + "a" * 600 + ".example/",
            "",
        ],
    )
    def test_a_hostile_address_is_refused(self, url):
        with pytest.raises(ValidationError) as refused:
            webhook_create(url=url, secret=SECRET, events=EVERY_EVENT)

        assert "url" in refused.value.message_dict
        assert not Webhook.objects.exists()

    @pytest.mark.parametrize(
        "fields",
        [
            {"secret": "short"},
            {"secret": "x" * 201},
            {"secret": "nul\x00" * 5},
            {"secret": None},
            {"events": []},
            {"events": ["incident.exploded"]},
            {"events": "incident.opened"},
            {"events": [["incident.opened"]]},
            {"name": "n" * 101},
            {"name": 7},
        ],
    )
    def test_a_wrong_secret_events_or_name_is_refused(self, fields):
        given = {"url": "https://mes.example/hook", "secret": SECRET, "events": EVERY_EVENT}

        with pytest.raises(ValidationError) as refused:
            webhook_create(**{**given, **fields})

        assert set(refused.value.message_dict) == set(fields)

    def test_an_address_on_this_machine_and_https_are_accepted(self):
        for url in [
            "http://127.0.0.1:8080/hook",
            "https://mes.example/hook?line=3",
            "http://[::1]/",
        ]:
            webhook_create(url=url, secret=SECRET, events=["incident.opened"])

        assert Webhook.objects.count() == 3


def test_deliveries_done_with_are_kept_30_days(hook, receiver, team):
    with committed():
        open_incident(team)
        open_incident(team)
    work_the_queue()
    kept, old = WebhookDelivery.objects.all()
    WebhookDelivery.objects.filter(pk=old.pk).update(
        updated_at=timezone.now() - sending.KEEP_DONE - timedelta(minutes=1)
    )
    DBTaskResult.objects.update(finished_at=timezone.now() - timedelta(days=31))
    with committed():
        open_incident(team)  # still to send: kept whatever its age
    pending = WebhookDelivery.objects.filter(status="pending")
    pending.update(updated_at=F("updated_at") - timedelta(days=90))

    assert sending.webhook_deliveries_remove_old() == 1

    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered", "pending"}
    assert WebhookDelivery.objects.filter(pk=kept.pk).exists()
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 1
    assert not DBTaskResult.objects.exclude(status=TaskResultStatus.READY).exists()


def test_the_task_is_found_under_the_tasks_module_too():
    """Queued tasks name it; `incidents.tasks` keeps the name if it moves."""
    assert import_string("incidents.tasks.webhook_deliver") is sending.webhook_deliver


class SignatureTests:
    def test_the_signature_is_the_hmac_of_the_time_and_the_body(self):
        body = b'{"id":"x"}'
        header = signature(SECRET, body, 1_700_000_000)

        assert header.startswith("t=1700000000,v1=")
        assert signature_valid(SECRET, signature(SECRET, body, int(time.time())), body)
        assert not signature_valid("another-secret-of-16", header, body)
        assert not signature_valid(SECRET, signature(SECRET, body, int(time.time())), body + b" ")
