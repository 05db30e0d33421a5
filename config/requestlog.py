"""One log line per request, every line of a request carrying its id, and JSON in production.

The id comes from nginx (`X-Request-ID`, see compose/nginx) or is made here; it goes back in
the response's `X-Request-ID` header and on the server error page, so what a person reads out
from their screen finds the lines of their request in the logs.
"""

import json
import logging
import re
import time
import traceback
import uuid
from contextvars import ContextVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings

REQUEST_ID_HEADER = "X-Request-ID"
# An id from the proxy is kept only when it looks like one: it ends up in logs and pages.
_WELL_FORMED = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

request_id_var: ContextVar[str] = ContextVar("request_id", default="")
logger = logging.getLogger("adt.request")


def current_request_id() -> str:
    return request_id_var.get()


def _request_id(request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _WELL_FORMED.match(given) else uuid.uuid4().hex


class RequestLogMiddleware:
    """First in MIDDLEWARE: names the request, then logs it once it is answered."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        token, started = self._begin(request)
        try:
            response = self.get_response(request)
            return self._end(request, response, started)
        finally:
            request_id_var.reset(token)

    async def _acall(self, request):
        token, started = self._begin(request)
        try:
            response = await self.get_response(request)
            return self._end(request, response, started)
        finally:
            request_id_var.reset(token)

    def _begin(self, request):
        request.request_id = _request_id(request)
        return request_id_var.set(request.request_id), time.perf_counter()

    def _end(self, request, response, started: float):
        response[REQUEST_ID_HEADER] = request.request_id
        user = getattr(request, "user", None)
        status = response.status_code
        if status >= 500:
            level = logging.ERROR
        elif status < 400 and request.path.startswith(self.static_prefix):
            # Static files (served by the app in embedded mode only) would drown the rest.
            level = logging.DEBUG
        else:
            level = logging.INFO
        logger.log(
            level,
            "%s %s %s",
            request.method,
            request.path,
            status,
            extra={
                "method": request.method,
                "path": request.path,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
                "client": request.META.get("REMOTE_ADDR", ""),
            },
        )
        return response


class RequestIdFilter(logging.Filter):
    """Gives every record the id of the request it was written in ("" outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = current_request_id()
        return True


# The attributes every LogRecord has; anything else was passed as `extra` and is logged too.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """A JSON object per line: time, level, logger, message, request id, the extras, and the
    traceback of an error."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or current_request_id(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line and key != "request":
                line[key] = (
                    value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
                )
        if record.exc_info:
            line["error"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(line, ensure_ascii=False)

    converter = time.gmtime
