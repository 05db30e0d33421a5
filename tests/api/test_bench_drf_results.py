"""The bench's DRF copy of the results endpoint (scripts/bench/drf_results.py) does the product's
work and answers as the product does, so that `make bench` section `frameworks` compares the two
frameworks and nothing else: for the same body each stores the same rows and gives the same
status and JSON (refused rows named by field in the same words, in the token's language); and
drf-spectacular describes it without a warning."""

import json

import pytest
from django.db import transaction
from django.test import modify_settings, override_settings
from drf_spectacular.validation import validate_schema

from incidents.models import StationResult
from scripts.bench.drf_results import REFERENCE_APPS, openapi_schema
from scripts.bench.drf_results import URL as DRF_URL
from tests.api.conftest import bearer
from tests.factories import DeviceFactory

NINJA_URL = "/api/v1/results/"


class RolledBack(Exception):
    """Undoes what one framework stored, so the other starts from the same table."""


def result(result_id: str = "R-1", **fields) -> dict:
    return {
        "result_id": result_id,
        "serial_number": "SN-TWIN-1",
        "station": "FCT-3",
        "test_item": "BT_RSSI",
        "passed": True,
        "value": -52.5,
        "low_limit": -80,
        "high_limit": -20,
        "log_url": "https://logs.example/FCT-3/1.txt",
        "tested_at": "2025-03-04T10:22:00+08:00",
        **fields,
    }


def answer_and_rows(client, url: str, body: str) -> tuple[int, dict, list[tuple]]:
    """The status, the JSON and the rows stored by one post, then undone."""
    found = {}
    try:
        with transaction.atomic():
            answer = client.post(url, body, content_type="application/json")
            found["status"], found["json"] = answer.status_code, answer.json()
            found["rows"] = list(
                StationResult.objects.order_by("result_id").values_list(
                    "device__serial_number",
                    "station",
                    "result_id",
                    "test_item",
                    "passed",
                    "value",
                    "low_limit",
                    "high_limit",
                    "log_url",
                    "tested_at",
                    "token__name",
                )
            )
            raise RolledBack
    except RolledBack:
        pass
    return found["status"], found["json"], found["rows"]


def both(client, body) -> tuple[tuple, tuple]:
    """What each framework answers and stores for `body`, from the same table; the stations
    come to be on their first result, as a new station's do when the setting says so."""
    text = body if isinstance(body, str) else json.dumps(body)
    with override_settings(
        ROOT_URLCONF="scripts.bench.drf_results", RESULTS_REGISTER_UNKNOWN_STATIONS=True
    ):
        return answer_and_rows(client, NINJA_URL, text), answer_and_rows(client, DRF_URL, text)


@pytest.fixture
def station(token_for):
    DeviceFactory(serial_number="SN-TWIN-1")
    return bearer(token_for("results:write", name="FCT-3"))


BAD_ROWS = [
    {"serial_number": "SN-TWIN-1"},
    result("R-long", station="S" * 101),
    result("R-empty", test_item="   "),
    result("R-nul", test_item="BT\x00RSSI"),
    result("R-surrogate", test_item="BT\ud800"),
    result("R-control", log_url="https://logs.example/\n1.txt"),
    result("R-yes", passed="yes"),
    result("R-one", passed=1),
    result("R-null", passed=None),
    result("R-serial-number", serial_number=12345),
    result("R-value", value="high", low_limit={"nested": [[[]]]}),
    result("R-naive", tested_at="2025-03-04T10:22:00"),
    result("R-old", tested_at="1999-12-31T23:59:59Z"),
    result("R-far", tested_at="9999-12-31T23:59:59-14:00"),
    result("R-garbage", tested_at="the day before yesterday"),
    result("R-date-number", tested_at=[2025, 3, 4]),
    result({"not": "text"}),
    [],
    None,
    "a row",
]


@pytest.mark.django_db
class DrfTwinTests:
    def test_a_good_batch_is_stored_and_answered_alike(self, station):
        body = {
            "results": [
                result("R-1"),
                result("R-2", passed=False, value=-90, log_url=""),
                result("R-3", value=None, low_limit=None, high_limit=None),
                result("R-1"),
                result("  R-4  ", test_item="  射频 RSSI  "),
            ]
        }

        ninja, drf = both(station, body)

        assert ninja[0] == 200
        assert [row["status"] for row in ninja[1]["results"]] == [
            "stored",
            "stored",
            "stored",
            "duplicate",
            "stored",
        ]
        assert len(ninja[2]) == 4
        assert drf == ninja

    def test_a_batch_with_bad_rows_keeps_the_good_ones_and_names_the_same_fields(self, station):
        body = {"results": [result("R-good"), *BAD_ROWS]}

        ninja, drf = both(station, body)

        assert ninja[0] == 200
        assert [row["status"] for row in ninja[1]["results"]] == ["stored"] + ["error"] * len(
            BAD_ROWS
        )
        assert [row[2] for row in ninja[2]] == ["R-good"]
        assert drf[1]["results"] == ninja[1]["results"]
        assert drf == ninja

    def test_a_batch_of_bad_rows_only_is_refused_alike_in_the_tokens_language(self, token_for):
        station = bearer(token_for("results:write", name="FCT-9", language="zh-hans"))

        ninja, drf = both(station, {"results": BAD_ROWS})

        assert ninja[0] == 422
        assert ninja[1]["error"]["code"] == "invalid_rows"
        assert "被拒绝" in ninja[1]["error"]["message"]
        assert ninja[2] == []
        assert drf == ninja

    @pytest.mark.parametrize(
        "body",
        [
            "not json",
            "[" * 100_000,
            "{}",
            json.dumps({"results": []}),
            json.dumps({"results": {"0": result()}}),
            json.dumps({"results": [result(f"R-{n}") for n in range(501)]}),
            json.dumps({"results": [result(padding="x" * 1_000_001)]}),
        ],
        ids=["not-json", "deep", "no-results", "empty", "not-a-list", "501-rows", "too-large"],
    )
    def test_a_body_that_is_not_a_batch_is_refused_alike(self, station, body):
        ninja, drf = both(station, body)

        assert 400 <= ninja[0] < 500
        assert ninja[1]["error"]["code"]
        assert drf == ninja

    def test_a_token_without_the_scope_or_no_token_is_refused_alike(self, token_for, client):
        reader = bearer(token_for("incidents:read"))
        body = {"results": [result()]}

        for caller, status in ((reader, 403), (client, 401)):
            ninja, drf = both(caller, body)

            assert ninja[0] == status
            assert drf == ninja

    def test_drf_spectacular_describes_the_endpoint_without_a_warning(self):
        schema, problems = openapi_schema()

        assert problems == []
        validate_schema(schema)
        operation = schema["paths"][DRF_URL]["post"]
        assert set(operation["responses"]) == {"200", "400", "401", "403", "413", "422"}
        assert schema["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
        row = schema["components"]["schemas"]["Result"]
        assert row["properties"]["station"]["maxLength"] == 100
        assert "tested_at" in row["required"]

    @modify_settings(INSTALLED_APPS={"append": REFERENCE_APPS})
    @override_settings(ROOT_URLCONF="scripts.bench.drf_results")
    def test_the_reference_is_served_from_the_sidecars_files_without_a_cdn(self, client):
        page = client.get("/drf/v1/docs/")

        assert page.status_code == 200
        html = page.content.decode()
        bundle = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
        assert bundle in html
        assert "cdn." not in html and "unpkg" not in html
        assert client.get(bundle).status_code == 200
        schema = client.get("/drf/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        assert schema.status_code == 200
        assert DRF_URL in schema.json()["paths"]
