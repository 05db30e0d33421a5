"""Webhooks in the admin: administrators register one (events as checkboxes, the secret typed
and never shown again), read every delivery with its status and answer, and send one again;
nobody else sees them."""

import pytest
from django.test import TestCase
from django.urls import reverse
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from incidents.choices import WebhookDeliveryStatus
from incidents.models import Webhook, WebhookDelivery
from incidents.services.webhooks import webhook_create
from tests.factories import AdminFactory, StaffFactory, SupervisorFactory

pytestmark = pytest.mark.django_db
SECRET = "whsec-admin-0123456789abcdef"
QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def admin(client):
    client.force_login(AdminFactory())
    return client


@pytest.fixture
def hook():
    return webhook_create(
        url="http://127.0.0.1:9/mes", secret=SECRET, events=["incident.opened"], name="MES"
    )


@pytest.fixture
def gave_up(hook):
    return WebhookDelivery.objects.create(
        webhook=hook,
        event="incident.opened",
        payload='{"id":"x"}',
        status=WebhookDeliveryStatus.GAVE_UP,
        attempts=31,
        last_response_code=503,
        last_error="HTTP 503 Service Unavailable",
        duration_ms=12,
    )


def form(**fields) -> dict:
    return {
        "name": "MES",
        "url": "https://mes.example/hook",
        "events": ["incident.opened", "device.moved"],
        "new_secret": SECRET,
        "is_active": "on",
        **fields,
    }


class WebhookPageTests:
    def test_an_administrator_registers_a_webhook_with_events_as_checkboxes(self, admin):
        page = admin.get(reverse("admin:incidents_webhook_add"))
        assert page.status_code == 200
        assert b'type="checkbox" name="events" value="incident.stage_changed"' in page.content

        answer = admin.post(reverse("admin:incidents_webhook_add"), form())

        assert answer.status_code == 302
        hook = Webhook.objects.get()
        assert (hook.url, hook.secret) == ("https://mes.example/hook", SECRET)
        assert hook.events == ["incident.opened", "device.moved"]
        assert hook.created_by is not None

    def test_the_secret_is_never_shown_and_kept_when_left_empty(self, admin, hook):
        url = reverse("admin:incidents_webhook_change", args=[hook.pk])
        page = admin.get(url)
        assert SECRET.encode() not in page.content
        assert "characters, not shown" in page.content.decode()

        admin.post(url, form(new_secret="", name="Renamed"))
        hook.refresh_from_db()
        assert (hook.name, hook.secret) == ("Renamed", SECRET)

        admin.post(url, form(new_secret="another-secret-0123456789"))
        hook.refresh_from_db()
        assert hook.secret == "another-secret-0123456789"
        assert b"another-secret" not in admin.get(url).content

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"url": "http://user:pw@mes.example/"}, "url"),
            ({"url": "gopher://mes.example/"}, "url"),
            ({"new_secret": ""}, "new_secret"),
            ({"new_secret": "short"}, "new_secret"),
            ({"events": []}, "events"),
            ({"events": ["incident.exploded"]}, "events"),
        ],
    )
    def test_a_bad_webhook_is_refused_with_the_field_named(self, admin, fields, field):
        answer = admin.post(reverse("admin:incidents_webhook_add"), form(**fields))

        assert answer.status_code == 200
        assert field in answer.context["adminform"].form.errors
        assert not Webhook.objects.exists()

    @pytest.mark.parametrize("person", [StaffFactory, SupervisorFactory])
    def test_nobody_but_administrators_sees_or_adds_webhooks(self, client, hook, person):
        client.force_login(person())

        for url in (
            reverse("admin:incidents_webhook_changelist"),
            reverse("admin:incidents_webhook_add"),
            reverse("admin:incidents_webhook_change", args=[hook.pk]),
            reverse("admin:incidents_webhookdelivery_changelist"),
        ):
            assert client.get(url).status_code == 403, url
        assert client.post(reverse("admin:incidents_webhook_add"), form()).status_code == 403
        assert Webhook.objects.count() == 1


class DeliveryPageTests:
    def test_the_list_shows_status_answer_time_and_attempts(self, admin, gave_up):
        page = admin.get(reverse("admin:incidents_webhookdelivery_changelist")).content.decode()

        assert "Gave up" in page and "503" in page and "31" in page

    def test_send_again_queues_a_fresh_attempt_with_the_same_id(self, admin, gave_up, settings):
        settings.TASKS = QUEUE
        page = admin.get(reverse("admin:incidents_webhookdelivery_change", args=[gave_up.pk]))
        send_again = reverse("admin:incidents_webhookdelivery_send_again", args=[gave_up.pk])
        assert f'action="{send_again}"'.encode() in page.content

        with TestCase.captureOnCommitCallbacks(execute=True):
            answer = admin.post(send_again)

        assert answer.status_code == 302
        gave_up.refresh_from_db()
        assert gave_up.status == WebhookDeliveryStatus.PENDING and gave_up.next_attempt_at
        task = DBTaskResult.objects.get(status=TaskResultStatus.READY)
        assert task.args_kwargs["kwargs"] == {"delivery_ids": [str(gave_up.pk)]}

    def test_a_get_of_send_again_changes_nothing(self, admin, gave_up):
        send_again = reverse("admin:incidents_webhookdelivery_send_again", args=[gave_up.pk])

        assert admin.get(send_again).status_code == 302
        gave_up.refresh_from_db()
        assert gave_up.status == WebhookDeliveryStatus.GAVE_UP

    def test_the_bulk_action_sends_the_selected_again(self, admin, gave_up):
        admin.post(
            reverse("admin:incidents_webhookdelivery_changelist"),
            {"action": "send_again_selected", "_selected_action": [str(gave_up.pk)]},
        )

        gave_up.refresh_from_db()
        assert gave_up.status == WebhookDeliveryStatus.PENDING

    @pytest.mark.parametrize("delivery_id", ["not-a-uuid", "0" * 5000, "%00"])
    def test_a_strange_id_is_a_404(self, admin, delivery_id):
        url = reverse("admin:incidents_webhookdelivery_send_again", args=["x"]).replace(
            "/x/", f"/{delivery_id}/"
        )

        assert admin.post(url).status_code in (400, 404)

    def test_staff_cannot_send_again(self, client, gave_up):
        client.force_login(StaffFactory())
        send_again = reverse("admin:incidents_webhookdelivery_send_again", args=[gave_up.pk])

        assert client.post(send_again).status_code == 403
        gave_up.refresh_from_db()
        assert gave_up.status == WebhookDeliveryStatus.GAVE_UP
