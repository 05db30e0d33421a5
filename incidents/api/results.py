"""Test stations report their results: one or a batch of up to 500, each stored once by the
station's own result id. A row that cannot be stored is refused alone, naming its field, while
the others are kept (200, each row with its status; 422 when no row could be stored). A body
over the limit is refused (413) before it is read, and one that is not a batch (not JSON, no
`results` list) is a 400."""

import json
from typing import Annotated, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
)

from incidents.api.auth import caller
from incidents.api.errors import ApiError, bad_request, problems_by_field
from incidents.api.examples import examples
from incidents.api.schemas import ErrorBody, ErrorOut, When
from incidents.choices import ApiScope
from incidents.services.results import ResultRow, station_results_record

router = Router(tags=["results"])
MAX_ROWS = 500
# 500 rows with long log links and item names fit in half of this.
MAX_BODY_BYTES = 1_000_000


def _clean(value: str) -> str:
    """Text a database stores and a page shows: no NUL, no lone surrogate, no control
    characters."""
    if not value.isprintable():
        raise ValueError(_("holds characters that are not text"))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(_("holds characters that are not text")) from None
    return value


def _text(max_length: int, min_length: int = 1):
    """Text of a field, its surrounding space dropped before its length is counted."""
    limits = StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)
    return Annotated[str, limits, AfterValidator(_clean)]


Number = Annotated[float, Field(allow_inf_nan=False)]


# A plain pydantic model, not a ninja Schema: it reads no Django object, and the Schema's
# reading of attributes cost a third of a batch's time.
class ResultIn(BaseModel):
    result_id: _text(100) = Field(description="The station's own id of the result.")
    serial_number: _text(64)
    station: _text(100)
    test_item: _text(200)
    passed: StrictBool
    value: Number | None = None
    low_limit: Number | None = None
    high_limit: Number | None = None
    log_url: _text(500, min_length=0) = ""
    tested_at: When = Field(description="ISO 8601 with its time zone.")


class ResultOut(Schema):
    row: int = Field(description="The row's place in the batch, from 0.")
    result_id: str
    status: Literal["stored", "duplicate", "error"]
    errors: dict[str, str] = Field(description="{field: what is wrong}, for a refused row.")


class ResultsOut(Schema):
    model_config = examples(
        {
            "results": [
                {"row": 0, "result_id": "FCT3-2025-000123", "status": "stored", "errors": {}},
                {"row": 1, "result_id": "FCT3-2025-000122", "status": "duplicate", "errors": {}},
                {
                    "row": 2,
                    "result_id": "FCT3-2025-000124",
                    "status": "error",
                    "errors": {"tested_at": "is later than now"},
                },
            ],
            "incidents_opened": [1042],
        }
    )

    results: list[ResultOut]
    incidents_opened: list[int]


class ResultsRefusedOut(ResultsOut):
    model_config = examples(
        {
            "results": [
                {
                    "row": 0,
                    "result_id": "FCT3-2025-000124",
                    "status": "error",
                    "errors": {"station": "No station FCT-LINE-9 is registered."},
                }
            ],
            "incidents_opened": [],
            "error": {
                "code": "invalid_rows",
                "message": "1 of 1 results refused (row 0: station); the others are kept.",
            },
        }
    )

    error: ErrorBody


EXAMPLE = {
    "result_id": "FCT3-2025-000123",
    "serial_number": "SN00001234",
    "station": "FCT-LINE-3",
    "test_item": "BT_RSSI",
    "passed": False,
    "value": -82.5,
    "low_limit": -80,
    "high_limit": -20,
    "log_url": "https://logs.factory.example/FCT3/000123.txt",
    "tested_at": "2025-03-04T10:22:00+08:00",
}
BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["results"],
                "properties": {
                    "results": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_ROWS,
                        "items": ResultIn.model_json_schema(),
                    }
                },
            },
            "example": {"results": [EXAMPLE]},
        }
    },
}


def _batch(request: HttpRequest) -> list:
    """The rows of the body, which is read only when it is within the limit."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        raise ApiError(
            413,
            "too_large",
            _("The body is over %(max)s bytes: send at most %(rows)s results a request.")
            % {"max": MAX_BODY_BYTES, "rows": MAX_ROWS},
        )
    try:
        body = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise bad_request(_("The request's body is not valid JSON.")) from None
    rows = body.get("results") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not rows:
        message = _('Send {"results": [ … ]}, a list of 1 to %(max)s results.')
        raise bad_request(message % {"max": MAX_ROWS})
    if len(rows) > MAX_ROWS:
        raise ApiError(
            413,
            "too_many_rows",
            _("%(count)s results in one request: send at most %(max)s.")
            % {"count": len(rows), "max": MAX_ROWS},
        )
    return rows


@router.post(
    "/",
    response={
        200: ResultsOut,
        422: ResultsRefusedOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        413: ErrorOut,
    },
    summary="Report test results",
    openapi_extra={"requestBody": BODY},
)
def result_batch(request: HttpRequest):
    """One result or a batch of up to 500. The same station's result id is stored once, so a
    batch may be sent again after a timeout. 200 with each row's status (stored, duplicate, or
    error with what is wrong by field) when at least one row is stored or was already; 422 when
    every row is refused."""
    who = caller(request)
    who.require(ApiScope.RESULTS_WRITE)
    answers, rows, places = [], [], []
    for index, raw in enumerate(_batch(request)):
        try:
            row = ResultIn.model_validate(raw)
        except ValidationError as error:
            result_id = raw.get("result_id") if isinstance(raw, dict) else None
            answers.append(
                {
                    "row": index,
                    "result_id": result_id if isinstance(result_id, str) else "",
                    "status": "error",
                    "errors": problems_by_field(error.errors()),
                }
            )
            continue
        rows.append(ResultRow(**row.model_dump()))
        places.append(index)
    recorded = station_results_record(rows=rows, token=who.token, person=who.person)
    for index, outcome in zip(places, recorded.rows, strict=True):
        answers.append(
            {
                "row": index,
                "result_id": outcome.result_id,
                "status": outcome.status,
                "errors": outcome.errors,
            }
        )
    answers.sort(key=lambda answer: answer["row"])
    refused = [answer for answer in answers if answer["status"] == "error"]
    body = {"results": answers, "incidents_opened": recorded.incidents_opened}
    # The wire (DESIGN.md, "Machines talk to it"): a batch the product took is answered 200,
    # each row with its status; only a batch of which no row could be stored is a 422.
    if len(refused) < len(answers):
        return Status(200, body)
    named = "; ".join(
        f"{_('row')} {answer['row']}: " + ", ".join(answer["errors"]) for answer in refused[:10]
    )
    message = _("%(refused)s of %(count)s results refused (%(named)s); the others are kept.") % {
        "refused": len(refused),
        "count": len(answers),
        "named": named,
    }
    return Status(422, {**body, "error": {"code": "invalid_rows", "message": message}})
