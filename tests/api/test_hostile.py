"""Hostile input to every endpoint's path and to each of its parameters: huge ids, surrogates,
NUL, long strings, nested JSON, wrong types, extreme dates. Each is a 4xx or an answer, never
a 5xx, and a refusal of the API says why in its one shape."""

import pytest
from django.test import Client

from tests.api.conftest import bearer
from tests.factories import IncidentFactory, ProblemGroupFactory

HUGE = "99999999999999999999999"
ABOVE_BIGINT = str(2**63)
SURROGATE = "%ED%A0%80"  # a lone surrogate (U+D800) as UTF-8 would write it
ESCAPED_SURROGATE = "%5Cud800"  # \ud800 as JSON would write it
NUL = "%00"
LONG = "x" * 10_000
NESTED = (
    "%7B%22a%22%3A%7B%22b%22%3A%5B1%2C%7B%22c%22%3Anull%7D%5D%7D%7D"  # {"a":{"b":[1,{"c":null}]}}
)
DEEP = "%5B" * 500 + "%5D" * 500  # [[[[…]]]]
CATALOGUE = [
    ABOVE_BIGINT,
    HUGE,
    "-1",
    "0",
    "abc",
    SURROGATE,
    ESCAPED_SURROGATE,
    NUL,
    LONG,
    "1.5",
    "1e400",
    "NaN",
    "true",
    "[]",
    NESTED,
    DEEP,
    "%F0%9F%92%A9",  # an emoji
    "'%3B--",
    "0001-01-01",
    "9999-12-31",
    "9999-12-31T23%3A59%3A59-14%3A00",
    "0001-01-01T00%3A00%3A00%2B14%3A00",
    "2025-13-45",
    "2025-02-30T25%3A61",
    "%20",
]

ENDPOINTS = {
    "/api/v1/incidents/": [
        "stage",
        "step",
        "project",
        "serial_number",
        "problem_group",
        "fail_station",
        "fail_item",
        "opened_from",
        "opened_to",
        "cursor",
        "limit",
    ],
    "/api/v1/devices/": ["serial_number", "project", "location", "holder", "cursor", "limit"],
    "/api/v1/locations/": ["kind", "is_active", "parent", "cursor", "limit"],
    "/api/v1/problem-groups/": ["status", "cursor", "limit"],
}
DETAILS = [
    "/api/v1/incidents/{}/",
    "/api/v1/incidents/{}/similar/",
    "/api/v1/devices/{}/",
    "/api/v1/locations/{}/",
    "/api/v1/problem-groups/{}/",
]


@pytest.fixture
def world(db):
    incident = IncidentFactory(problem_group=ProblemGroupFactory())
    return incident


def problems(client: Client, urls: list[str]) -> list[str]:
    """What went wrong: a 5xx, or an API refusal not in the API's shape."""
    found = []
    for url in urls:
        answer = client.get(url)
        if answer.status_code >= 500:
            found.append(f"{url[:120]} → {answer.status_code}")
        elif answer.status_code >= 400 and answer.get("Content-Type", "").startswith(
            "application/json"
        ):
            body = answer.json()
            error = body.get("error") if isinstance(body, dict) else None
            if not (isinstance(error, dict) and error.get("message")) and "message" not in body:
                found.append(f"{url[:120]} → {answer.status_code} {body}")
    return found


@pytest.mark.django_db
class HostileParameterTests:
    @pytest.mark.parametrize("path", sorted(ENDPOINTS))
    def test_no_hostile_value_of_any_parameter_is_a_server_error(self, world, machine, path):
        urls = [f"{path}?{name}={value}" for name in ENDPOINTS[path] for value in CATALOGUE]
        urls += [
            f"{path}?{name}={value}&{name}=x" for name in ENDPOINTS[path] for value in CATALOGUE[:4]
        ]

        assert not (found := problems(machine, urls)), "\n".join(found)

    @pytest.mark.parametrize("path", sorted(ENDPOINTS))
    def test_unknown_and_hostile_parameter_names_are_ignored_or_refused(self, world, machine, path):
        urls = [f"{path}?{value}=1" for value in CATALOGUE] + [f"{path}?{NUL}", f"{path}?&&&="]

        assert not (found := problems(machine, urls)), "\n".join(found)

    def test_a_person_signed_in_gets_the_same_answers(self, world, staff_client):
        urls = [
            f"{path}?{name}={value}"
            for path, names in ENDPOINTS.items()
            for name in names
            for value in (ABOVE_BIGINT, SURROGATE, LONG, NESTED, "0001-01-01")
        ]

        assert not (found := problems(staff_client, urls)), "\n".join(found)


@pytest.mark.django_db
def test_a_nul_in_the_address_is_refused_in_the_apis_own_shape(machine):
    for url in ("/api/v1/incidents/?stage=%00", "/api/v1/devices/?%00=1"):
        answer = machine.get(url)

        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "bad_request"
        assert "NUL" in answer.json()["error"]["message"]


@pytest.mark.django_db
class HostilePathTests:
    @pytest.mark.parametrize("pattern", DETAILS)
    def test_no_hostile_id_is_a_server_error(self, world, machine, pattern):
        urls = [pattern.format(value) for value in CATALOGUE if value not in ("%20",)]

        assert not (found := problems(machine, urls)), "\n".join(found)

    @pytest.mark.parametrize("pattern", DETAILS)
    def test_a_huge_or_wrong_id_is_400_or_404(self, world, machine, pattern):
        for value in (ABOVE_BIGINT, HUGE, "-1", "0", "abc", "1.5", "2147483648"):
            answer = machine.get(pattern.format(value))

            assert answer.status_code in (400, 404), (value, answer.status_code)
            assert answer.json()["error"]["message"]


@pytest.mark.django_db
class HostileHeaderTests:
    @pytest.mark.parametrize(
        "header",
        [
            "Bearer " + "adt_" + "x" * 10_000,
            "Bearer adt_\x7f",
            "Bearer adt_%00",
            "bearer    adt_x",
            "Bearer adt_" + "é" * 50,
            "Bearer Bearer Bearer",
            "Bearer " + '{"a": [1]}',
        ],
    )
    def test_a_hostile_authorization_is_401(self, world, header):
        answer = Client(headers={"Authorization": header}).get("/api/v1/incidents/")

        assert answer.status_code == 401
        assert answer.json()["error"]["code"] in ("invalid_token", "not_authenticated")

    def test_other_methods_are_refused(self, world, machine):
        for method in ("post", "put", "patch", "delete"):
            answer = getattr(machine, method)(
                "/api/v1/incidents/", data="{}", content_type="application/json"
            )

            assert 400 <= answer.status_code < 500, (method, answer.status_code)


def test_the_hostile_tokens_leave_a_clear_reason(db):
    answer = bearer("adt_" + "x" * 43).get("/api/v1/devices/")

    assert answer.json() == {
        "error": {"code": "invalid_token", "message": "This token is unknown, revoked or expired."}
    }
