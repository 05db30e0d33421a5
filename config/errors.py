"""The error pages people meet: a stale link (404) and a refusal (403) inside the product's own
frame (sidebar, header, language), with a way back. Django shows them when DEBUG is off; the
server error page (templates/500.html) stands alone, as it must work when nothing else does."""

import logging

from django.contrib import admin
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


def _error_page(request: HttpRequest, template: str, status: int, title: str) -> HttpResponse:
    try:
        context = admin.site.each_context(request)
    except Exception:
        # An error page must not fail in its turn: without the admin's context it is plainer.
        logger.exception("The admin's context for the %s page failed", status)
        context = {}
    context.update(title=title, request_path=request.path)
    return render(request, template, context, status=status)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _error_page(request, "404.html", 404, _("Page not found"))


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _error_page(request, "403.html", 403, _("Forbidden"))


def server_error(request: HttpRequest) -> HttpResponse:
    """The standalone 500 page, with the request's id: what a person quotes to an administrator
    finds the request's log lines (config/requestlog.py)."""
    try:
        html = loader.render_to_string(
            "500.html", {"request_id": getattr(request, "request_id", "")}
        )
    except Exception:
        logger.exception("The 500 page failed")
        html = "<h1>Server error (500)</h1>"
    return HttpResponseServerError(html)


def _statement_cancelled(error: Exception) -> bool:
    """Whether the database stopped a query at the web processes' statement timeout."""
    from psycopg.errors import QueryCanceled

    return isinstance(error, OperationalError) and isinstance(error.__cause__, QueryCanceled)


class StatementTimeoutMiddleware:
    """A request whose query ran past the web processes' statement timeout (settings:
    WEB_STATEMENT_TIMEOUT_MS) answers a page saying so, 503, instead of the server error page:
    the database stopped it so that it does not hold a process and slow everyone else. So does
    a write that found the embedded (SQLite) database locked for longer than it waits."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if _statement_cancelled(exception):
            logger.warning("statement timeout on %s %s", request.method, request.path)
            return _error_page(request, "503.html", 503, _("This took too long"))
        if _database_locked(exception):
            # The embedded database's one write lock was held past its wait (a long import).
            logger.warning("database locked on %s %s", request.method, request.path)
            response = _error_page(request, "503_busy.html", 503, _("The database is busy"))
            response["Retry-After"] = "5"
            return response
        return None


def _database_locked(error: Exception) -> bool:
    return isinstance(error, OperationalError) and "database is locked" in str(error)
