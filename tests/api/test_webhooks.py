"""Registering webhooks through the API: a token with `webhooks:admin` or an administrator signed
in; 201 with the webhook and never its secret; every bad input a 4xx in the API's error shape,
nothing written."""

import json

import pytest

from incidents.models import Webhook
from tests.api.conftest import bearer
from tests.factories import AdminFactory, StaffFactory

URL = "/api/v1/webhooks/"
SECRET = "whsec-0123456789-abcdef"
GOOD = {
    "url": "https://mes.example/hooks/adt",
    "secret": SECRET,
    "events": ["incident.opened", "incident.closed"],
}


def post(client, body, raw: bool = False):
    return client.post(URL, body if raw else json.dumps(body), content_type="application/json")


@pytest.fixture
def mes(token_for):
    return bearer(token_for("webhooks:admin", name="MES"))


def refused(answer, status: int, code: str | None = None) -> dict:
    assert answer.status_code == status, answer.content
    error = answer.json()["error"]
    assert error["message"] and (code is None or error["code"] == code)
    assert not Webhook.objects.exists()
    return error


@pytest.mark.django_db
class RegisterTests:
    def test_a_token_with_the_scope_registers_a_webhook_and_never_sees_its_secret(self, mes):
        answer = post(mes, {**GOOD, "name": "MES line 3"})

        assert answer.status_code == 201
        body = answer.json()
        hook = Webhook.objects.get()
        assert body == {
            "id": hook.pk,
            "name": "MES line 3",
            "url": GOOD["url"],
            "events": ["incident.opened", "incident.closed"],
            "is_active": True,
            "created_at": body["created_at"],
        }
        assert SECRET not in answer.content.decode()
        assert hook.secret == SECRET

    def test_the_list_shows_the_webhooks_without_their_secrets(self, mes):
        post(mes, GOOD)
        post(mes, {**GOOD, "url": "http://127.0.0.1:9000/hook"})

        answer = mes.get(URL)

        assert answer.status_code == 200
        assert [row["url"] for row in answer.json()["results"]] == [
            "http://127.0.0.1:9000/hook",
            GOOD["url"],
        ]
        assert SECRET not in answer.content.decode()

    def test_an_administrator_signed_in_registers_one(self, client):
        client.force_login(AdminFactory())

        assert post(client, GOOD).status_code == 201
        assert Webhook.objects.get().created_by is not None

    def test_a_token_without_the_scope_is_refused(self, token_for):
        reader = bearer(token_for("incidents:read"))

        refused(post(reader, GOOD), 403, "forbidden")
        assert reader.get(URL).status_code == 403

    def test_staff_signed_in_are_refused(self, client):
        client.force_login(StaffFactory())

        refused(post(client, GOOD), 403, "forbidden")
        assert client.get(URL).status_code == 403

    def test_nobody_at_all_is_refused(self, client):
        refused(post(client, GOOD), 401)


@pytest.mark.django_db
class HostileTests:
    @pytest.mark.parametrize(
        "changes",
        [
            {"url": "ftp://mes.example/hook"},
            {"url": "http://admin:pw@mes.example/hook"},
            {"url": "javascript:alert(1)"},
            {"url": "http://mes.example/\u0000"},
            {"url": "http://\ud800.example/"},
            {"url": "https://" + "a" * 10_000 + ".example/"},
            {"url": 12},
            {"url": None},
            {"url": {"nested": {"deeper": ["x"]}}},
            {"secret": "short"},
            {"secret": "\u0000" * 20},
            {"secret": ["a", "list"]},
            {"secret": "s" * 300},
            {"events": []},
            {"events": "incident.opened"},
            {"events": ["incident.opened", "incident.exploded"]},
            {"events": [{"event": "incident.opened"}]},
            {"events": [1, 2]},
            {"name": "\ud800"},
            {"name": "n" * 1000},
            {"is_active": "yes"},
        ],
    )
    def test_a_bad_value_is_a_422_naming_the_field(self, mes, changes):
        error = refused(post(mes, {**GOOD, **changes}), 422, "invalid")

        assert next(iter(changes)) in error["message"]

    @pytest.mark.parametrize(
        "body",
        [
            "not json",
            "[1, 2, 3]",
            '"a string"',
            "null",
            "[" * 5000 + "]" * 5000,
            json.dumps({**GOOD, "secret_echo": True}),
            "\udcff",
        ],
    )
    def test_a_body_that_is_not_a_webhook_is_a_400(self, mes, body):
        answer = mes.post(
            URL, body.encode("utf-8", "surrogatepass"), content_type="application/json"
        )

        refused(answer, 400)

    def test_a_missing_field_is_named(self, mes):
        error = refused(post(mes, {"url": GOOD["url"]}), 422)

        assert "secret" in error["message"] and "events" in error["message"]

    def test_a_huge_body_is_refused_before_it_is_read(self, mes):
        refused(post(mes, {**GOOD, "name": "x" * 100_000}), 413, "too_large")

    def test_a_cursor_it_did_not_give_is_a_400(self, mes):
        assert mes.get(URL, {"cursor": "forged"}).status_code == 400
        assert mes.get(URL, {"limit": 10**30}).status_code == 400
