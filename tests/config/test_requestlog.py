"""Each request is named and logged once; in production each line is a JSON object carrying the
request's id, which the response and the server error page give back."""

import json
import logging

import pytest
from django.urls import path

from config.requestlog import REQUEST_ID_HEADER, JsonFormatter, RequestIdFilter
from config.urls import handler500  # noqa: F401  (the project's, for this URLconf too)
from config.urls import urlpatterns as project_urlpatterns


def failing_view(request):
    logging.getLogger("incidents").warning("about to fail")
    raise RuntimeError("the failure of a view")


urlpatterns = [*project_urlpatterns, path("fails/", failing_view)]


class CollectingHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self.addFilter(RequestIdFilter())
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record):
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def log_lines():
    handler = CollectingHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)


@pytest.mark.django_db
class RequestLogTests:
    def test_one_json_line_per_request_with_its_id_status_and_duration(self, client, log_lines):
        response = client.get("/healthz")

        request_lines = [line for line in log_lines if line["logger"] == "adt.request"]
        assert len(request_lines) == 1
        line = request_lines[0]
        assert line["request_id"] == response[REQUEST_ID_HEADER]
        assert len(line["request_id"]) == 32
        assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz", 200)
        assert line["duration_ms"] >= 0
        assert line["level"] == "INFO"

    def test_the_id_given_by_nginx_is_kept(self, client, log_lines):
        response = client.get("/healthz", headers={"X-Request-ID": "abc123def456"})

        assert response[REQUEST_ID_HEADER] == "abc123def456"
        assert log_lines[-1]["request_id"] == "abc123def456"

    def test_an_id_that_does_not_look_like_one_is_replaced(self, client, log_lines):
        response = client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"})

        assert response[REQUEST_ID_HEADER] != "<script>alert(1)</script>"
        assert len(response[REQUEST_ID_HEADER]) == 32

    def test_the_signed_in_person_is_named_by_id(self, admin_client, admin_user, log_lines):
        admin_client.get("/healthz")

        assert log_lines[-1]["user_id"] == admin_user.pk

    @pytest.mark.urls(__name__)
    def test_an_error_logs_its_traceback_and_every_line_of_the_request_shares_its_id(
        self, client, log_lines
    ):
        client.raise_request_exception = False

        response = client.get("/fails/")

        assert response.status_code == 500
        request_id = response[REQUEST_ID_HEADER]
        mine = [line for line in log_lines if line["request_id"] == request_id]
        assert [line["logger"] for line in mine] == ["incidents", "django.request", "adt.request"]
        assert "RuntimeError: the failure of a view" in mine[1]["error"]
        assert mine[2]["status"] == 500 and mine[2]["level"] == "ERROR"
        # The person sees the id to quote, on the product's own error page.
        assert request_id in response.content.decode()

    def test_lines_outside_requests_have_an_empty_id(self, log_lines):
        logging.getLogger("incidents").info("a worker's line")

        assert log_lines[-1]["request_id"] == ""
        assert log_lines[-1]["message"] == "a worker's line"
