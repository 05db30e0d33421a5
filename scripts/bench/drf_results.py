"""The results endpoint (`POST /api/v1/results/`, incidents/api/results.py) written once more with
Django REST Framework and drf-spectacular, as NetBox writes its API, so that section
`frameworks` can measure the two on the same batches. Benchmark only: the product does not
install these packages as apps; the bench serves this view through the URLconf of this module
(`override_settings(ROOT_URLCONF="scripts.bench.drf_results")`), which is the product's own
plus this one address.

The work is the product's, step for step: the body's length checked before it is read, the
same token lookup (`TokenOrSession`: the hashed token, its pace, the record of its use), each
row checked alone by a serializer with the product's fields and limits, the good rows stored
by the same service, `station_results_record`, and the same answer (200 with each row's status,
422 when every row is refused, refusals as `{"error": {"code", "message"}}` in the token's
language). Left apart, as no station sends them: JSON's `NaN` and `Infinity`, which DRF's parser
refuses for the whole body where the product refuses the row, and a time given as a number of
seconds, which pydantic reads and DRF refuses."""

from datetime import datetime

from django.contrib.auth.models import AnonymousUser
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.settings import patched_settings
from drf_spectacular.utils import OpenApiExample, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from config import urls as product_urls
from incidents.api.auth import TokenOrSession
from incidents.api.errors import ApiError, bad_request
from incidents.api.results import EXAMPLE, MAX_BODY_BYTES, MAX_ROWS
from incidents.api.schemas import EARLIEST, LATEST
from incidents.choices import ApiScope
from incidents.services.results import ResultRow, station_results_record

URL = "/drf/v1/results/"
INFO = {"TITLE": "Abnormal Device Tracking", "VERSION": "1"}
# Swagger UI and Redoc from drf-spectacular-sidecar's static files rather than a CDN.
SIDECAR = {
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# What DRF's reference needs installed: the product installs none of them; the test adds them.
REFERENCE_APPS = ["rest_framework", "drf_spectacular", "drf_spectacular_sidecar"]
# A check written by the bench itself: its message is already in words of the reader's language.
IN_WORDS = "in_words"


def _printable(value: str) -> None:
    """The product's `_clean`: no NUL, no lone surrogate, no control characters."""
    if not value.isprintable():
        raise serializers.ValidationError(_("holds characters that are not text"), IN_WORDS)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise serializers.ValidationError(
            _("holds characters that are not text"), IN_WORDS
        ) from None


def _within_bounds(value: datetime) -> None:
    if not EARLIEST <= value <= LATEST:
        raise serializers.ValidationError(_("must be between 2000 and 2100"), IN_WORDS)


class TextField(serializers.CharField):
    """Text only (pydantic's `str` takes no number either), its surrounding space dropped before
    its length is counted."""

    def __init__(self, max_length: int, min_length: int = 1, **options):
        super().__init__(
            max_length=max_length,
            allow_blank=min_length == 0,
            trim_whitespace=True,
            **options,
        )
        # After DRF's own checks (length, NUL, lone surrogates), as the product's comes after
        # pydantic's.
        self.validators.append(_printable)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false, not "yes" or 1 (the product's `StrictBool`)."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with its time zone; one without is refused, not read in the server's zone."""

    def enforce_timezone(self, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise serializers.ValidationError(_("needs a time zone (e.g. +08:00 or Z)"), IN_WORDS)
        return value


class ResultSerializer(serializers.Serializer):
    result_id = TextField(100, help_text="The station's own id of the result.")
    serial_number = TextField(64)
    station = TextField(100)
    test_item = TextField(200)
    passed = StrictBooleanField()
    value = serializers.FloatField(allow_null=True, default=None)
    low_limit = serializers.FloatField(allow_null=True, default=None)
    high_limit = serializers.FloatField(allow_null=True, default=None)
    log_url = TextField(500, min_length=0, default="")
    tested_at = AwareDateTimeField(
        validators=[_within_bounds], help_text="ISO 8601 with its time zone."
    )


class BatchSerializer(serializers.Serializer):
    """The body, as the schema documents it (the view checks its rows one by one)."""

    results = ResultSerializer(many=True, min_length=1, max_length=MAX_ROWS)


class ResultOutSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="The row's place in the batch, from 0.")
    result_id = serializers.CharField()
    status = serializers.ChoiceField(["stored", "duplicate", "error"])
    errors = serializers.DictField(
        child=serializers.CharField(), help_text="{field: what is wrong}, for a refused row."
    )


class ResultsOutSerializer(serializers.Serializer):
    results = ResultOutSerializer(many=True)
    incidents_opened = serializers.ListField(child=serializers.IntegerField())


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorOutSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


class ResultsRefusedOutSerializer(ResultsOutSerializer):
    error = ErrorBodySerializer()


def _problem(field: serializers.Field | None, detail) -> str:
    """What is wrong with one value, in the product's words (incidents/api/errors.py)."""
    code = getattr(detail, "code", "")
    if code == IN_WORDS:
        return str(detail)
    if code == "required":
        return _("is required")
    if code == "max_length":
        return _("is too long (at most %(max)s)") % {"max": field.max_length}
    if code == "null_characters_not_allowed":
        return _("holds characters that are not text")
    # pydantic takes no lone surrogate for text at all: "must be text", as below.
    if isinstance(field, serializers.BooleanField):
        return _("must be true or false")
    if isinstance(field, serializers.FloatField):
        return _("must be a number")
    if isinstance(field, serializers.DateTimeField):
        return _("must be a date and time (ISO 8601)")
    if isinstance(field, serializers.CharField):
        return _("must be text")
    return _("is not valid")


def problems_by_field(fields, detail) -> dict[str, str]:
    """{field: what is wrong with it}, the first problem of each field, as the product says it;
    a row that is not an object at all is wrong as a whole ("request")."""
    if not isinstance(detail, dict):
        return {"request": _("is not valid")}
    found = {}
    for name, details in detail.items():
        if name == serializers.api_settings.NON_FIELD_ERRORS_KEY:
            found["request"] = _("is not valid")
        else:
            found[name] = _problem(fields.get(name), details[0])
    return found


class TokenOrSessionAuthentication(BaseAuthentication):
    """The product's own lookup: the hashed token (with its pace and the record of its use), or
    the session."""

    lookup = TokenOrSession()

    def authenticate(self, request):
        who = self.lookup(request._request)
        return (who.person or AnonymousUser(), who)

    def authenticate_header(self, request) -> str:
        return "Bearer"


class TokenOrSessionScheme(OpenApiAuthenticationExtension):
    """How the schema names the product's authentication: a bearer token."""

    target_class = TokenOrSessionAuthentication
    name = "token"

    def get_security_definition(self, auto_schema) -> dict:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "adt_…"}


@extend_schema(
    summary="Report test results",
    request=BatchSerializer,
    responses={
        200: ResultsOutSerializer,
        422: ResultsRefusedOutSerializer,
        400: ErrorOutSerializer,
        401: ErrorOutSerializer,
        403: ErrorOutSerializer,
        413: ErrorOutSerializer,
    },
    examples=[OpenApiExample("A failing run", value={"results": [EXAMPLE]}, request_only=True)],
    tags=["results"],
)
class ResultBatchView(APIView):
    authentication_classes = [TokenOrSessionAuthentication]
    permission_classes = []
    throttle_classes = []
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    schema = AutoSchema()

    def handle_exception(self, exc):
        if isinstance(exc, ApiError):
            response = Response(
                {"error": {"code": exc.code, "message": str(exc.message)}}, status=exc.status
            )
            for name, value in (getattr(exc, "headers", None) or {}).items():
                response[name] = value
            return response
        return super().handle_exception(exc)

    def _batch(self, request) -> list:
        """The rows of the body, which is parsed only when it is within the limit."""
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
            body = request.data
        except (ParseError, RecursionError):
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

    def post(self, request):
        """One result or a batch of up to 500, each row checked alone; 200 with each row's
        status when at least one row is stored or was already, 422 when every row is refused."""
        who = request.auth
        who.require(ApiScope.RESULTS_WRITE)
        answers, rows, places = [], [], []
        # One serializer checks every row, as DRF's own ListSerializer does (a serializer made
        # per row would copy its fields a hundred times a batch), but a refused row is answered
        # alone while the others go on.
        checker = ResultSerializer()
        for index, raw in enumerate(self._batch(request)):
            try:
                checked = checker.run_validation(raw)
            except serializers.ValidationError as error:
                result_id = raw.get("result_id") if isinstance(raw, dict) else None
                answers.append(
                    {
                        "row": index,
                        "result_id": result_id if isinstance(result_id, str) else "",
                        "status": "error",
                        "errors": problems_by_field(checker.fields, error.detail),
                    }
                )
                continue
            rows.append(ResultRow(**checked))
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
        if len(refused) < len(answers):
            return Response(ResultsOutSerializer(body).data)
        named = "; ".join(
            f"{_('row')} {answer['row']}: " + ", ".join(answer["errors"]) for answer in refused[:10]
        )
        message = _(
            "%(refused)s of %(count)s results refused (%(named)s); the others are kept."
        ) % {"refused": len(refused), "count": len(answers), "named": named}
        body["error"] = {"code": "invalid_rows", "message": message}
        return Response(ResultsRefusedOutSerializer(body).data, status=422)


class ReferenceView(SpectacularSwaggerView):
    """The browsable reference, served by the product itself: Swagger UI from the static files
    of drf-spectacular-sidecar (a factory's network often has no internet, so no CDN). It
    needs REFERENCE_APPS installed, for its template and the sidecar's files."""

    authentication_classes = []

    def get(self, request, *args, **kwargs):
        with patched_settings(SIDECAR):
            return super().get(request, *args, **kwargs)


results_patterns = [path(URL.lstrip("/"), ResultBatchView.as_view(), name="drf-results")]
drf_patterns = [
    *results_patterns,
    path(
        "drf/v1/schema/",
        SpectacularAPIView.as_view(
            patterns=results_patterns, custom_settings=INFO, authentication_classes=[]
        ),
        name="drf-schema",
    ),
    path("drf/v1/docs/", ReferenceView.as_view(url_name="drf-schema"), name="drf-docs"),
]
# The product's addresses and the DRF endpoint beside them, for the bench and its test.
urlpatterns = [*drf_patterns, *product_urls.urlpatterns]
handler404 = product_urls.handler404
handler403 = product_urls.handler403
handler500 = product_urls.handler500


def openapi_schema() -> tuple[dict, list[str]]:
    """The OpenAPI 3 schema drf-spectacular makes of the DRF endpoint, and the warnings and
    errors it reported while making it (none, when the endpoint is fully described)."""
    GENERATOR_STATS.reset()
    with patched_settings(INFO):
        schema = SchemaGenerator(patterns=results_patterns).get_schema(request=None, public=True)
    problems = [*GENERATOR_STATS._error_cache, *GENERATOR_STATS._warn_cache]
    return schema, problems
