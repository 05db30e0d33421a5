"""The scan station's JSON API against what a browser, a scanner or a stranger may send: a body
that is not a JSON object, a code far longer than any key, and requests without the CSRF token
the page sends."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from locations.codes import label_payload, max_key_length
from tests.factories import DeviceFactory, LocationFactory, StaffFactory

pytestmark = pytest.mark.django_db

API = "admin:locations_device_scan_api"
PAGE = "admin:locations_device_scan"


def post_json(client: Client, body: str, **headers):
    return client.post(reverse(API), body, content_type="application/json", **headers)


@pytest.fixture
def operator_client(client) -> Client:
    client.force_login(StaffFactory())
    return client


class BodyThatIsNotAnObjectTests:
    @pytest.mark.parametrize("body", ["[1]", '"x"', "null", "42", "true", '[{"op": "scan"}]'])
    def test_a_json_body_that_is_not_an_object_is_a_bad_request_in_words(
        self, operator_client, body
    ):
        response = post_json(operator_client, body)

        assert response.status_code == 400
        assert response.json() == {
            "level": "error",
            "message": "The request must be a JSON object.",
        }

    def test_the_station_still_works_after_a_bad_request(self, operator_client):
        device, shelf = DeviceFactory(), LocationFactory()
        post_json(operator_client, "[1]")

        post_json(operator_client, json.dumps({"op": "scan", "code": label_payload(device)}))
        reply = post_json(
            operator_client, json.dumps({"op": "scan", "code": label_payload(shelf)})
        ).json()
        post_json(operator_client, json.dumps({"op": "commit"}))

        device.refresh_from_db()
        assert reply["level"] == "ready"
        assert device.location == shelf


class OverlongCodeTests:
    def test_a_100_kb_code_is_refused_in_words_without_a_query_made_with_it(self, operator_client):
        code = "X" * 100_000
        body = json.dumps({"op": "scan", "code": code})

        with CaptureQueriesContext(connection) as captured:
            response = post_json(operator_client, body)

        assert response.status_code == 200
        reply = response.json()
        assert reply["level"] == "error"
        assert reply["message"].startswith("The scanned code is 100000 characters long")
        assert code not in reply["message"]
        assert not [q for q in captured.captured_queries if "X" * max_key_length() in q["sql"]]

    def test_a_prefixed_overlong_code_is_refused_the_same_way(self, operator_client):
        body = json.dumps({"op": "scan", "code": "DEV:" + "9" * 100_000})

        reply = post_json(operator_client, body).json()

        assert reply["level"] == "error"
        assert "no device, person or location has a code longer than 64" in reply["message"]


class CsrfTests:
    """What the page's script does: it reads the csrftoken cookie and sends it as X-CSRFToken."""

    @pytest.fixture
    def strict_client(self) -> Client:
        client = Client(enforce_csrf_checks=True)
        client.force_login(StaffFactory())
        return client

    def test_a_post_without_the_csrf_token_is_forbidden_and_moves_nothing(self, strict_client):
        device = DeviceFactory()
        strict_client.get(reverse(PAGE))

        response = post_json(
            strict_client, json.dumps({"op": "scan", "code": label_payload(device)})
        )

        assert response.status_code == 403
        assert strict_client.session.get("scan_station") is None

    def test_a_post_with_the_token_from_the_page_cookie_works(self, strict_client):
        device = DeviceFactory()
        assert strict_client.get(reverse(PAGE)).status_code == 200
        token = strict_client.cookies["csrftoken"].value

        response = post_json(
            strict_client,
            json.dumps({"op": "scan", "code": label_payload(device)}),
            HTTP_X_CSRFTOKEN=token,
        )

        assert response.status_code == 200
        assert response.json()["pending"] == {"device": device.serial_number}


class WhatTheStationTellsTests:
    def mover(self):
        """Someone whose only role moves devices."""
        from django.contrib.auth.models import Group

        from incidents.capabilities import CapabilityCode, permissions_of
        from incidents.selectors import permissions_named

        role = Group.objects.create(name="Mover")
        role.permissions.set(permissions_named(permissions_of([CapabilityCode.MOVE_DEVICES])))
        person = StaffFactory()
        person.groups.set([role])
        return person

    def scanned(self, person, device):
        client = Client()
        client.force_login(person)
        return post_json(client, json.dumps({"op": "scan", "code": label_payload(device)})).json()

    def test_someone_who_only_moves_devices_is_not_told_about_their_incidents(self):
        from incidents.services import incident_open

        device = DeviceFactory()
        incident = incident_open(device=device, reporter=StaffFactory())

        for_mover = self.scanned(self.mover(), device)
        for_staff = self.scanned(StaffFactory(), device)

        assert for_mover["level"] == "info"
        assert not for_mover["device"].get("incident")
        assert for_staff["device"]["incident"].startswith(f"#{incident.pk} ")


class HostileBodyTests:
    """What a script may post instead of a scan: each a 400 saying why, never a server error,
    and the station works on afterwards."""

    @pytest.mark.parametrize(
        ("body", "said"),
        [
            ('{"op": "scan", "code": "\\ud800"}', "“code” holds a character that cannot be stored"),
            ('{"op": "scan", "code": "DEV:\\ud800"}', "“code” holds a character"),
            ('{"op": "commit", "reason": "\\udfff"}', "“reason” holds a character"),
            ('{"op": "scan", "code": "A\\u0000B"}', "“code” holds a character"),
            ('{"op": "scan", "code": ["DEV:1"]}', "“code” must be text."),
            ('{"op": "scan", "code": {"id": 1}}', "“code” must be text."),
            ('{"op": "scan", "code": true}', "“code” must be text."),
            ('{"op": "commit", "reason": [1]}', "“reason” must be text."),
            ('{"op": "commit", "reason": "' + "r" * 1001 + '"}', "longer than 1000 characters"),
            ("[" * 10_000 + "]" * 10_000, "The request is not valid JSON."),
            ('{"op": ' * 10_000 + "1" + "}" * 10_000, "The request is not valid JSON."),
            ('{"op": "scan", "code": ', "The request is not valid JSON."),
            ("\xff\xfe{}", "The request is not valid JSON."),
            ('{"op": "scan", "code": ' + "9" * 5000 + "}", "The request is not valid JSON."),
        ],
        ids=lambda value: value[:30],
    )
    def test_a_hostile_body_is_a_bad_request_in_words(self, operator_client, body, said):
        response = post_json(operator_client, body)

        assert response.status_code == 400
        assert said in response.json()["message"]

    @pytest.mark.parametrize(
        "code", ["99999999999999999999999", "DEV:99999999999999999999999", 2**64]
    )
    def test_a_huge_id_is_no_known_code(self, operator_client, code):
        response = post_json(operator_client, json.dumps({"op": "scan", "code": code}))

        assert response.status_code == 200
        assert response.json()["level"] == "error"

    def test_a_number_scanned_by_a_script_is_read_as_its_digits(self, operator_client):
        person = StaffFactory(employee_number="4711")

        reply = post_json(operator_client, json.dumps({"op": "scan", "code": 4711})).json()

        assert reply["level"] != "error", reply
        assert person.display_name in json.dumps(reply, ensure_ascii=False)
