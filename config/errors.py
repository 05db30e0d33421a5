"""The error pages people meet: a stale link (404) and a refusal (403) inside the product's own
frame (sidebar, header, language), with a way back. Django shows them when DEBUG is off; the
server error page (templates/500.html) stands alone, as it must work when nothing else does."""

import logging

from django.contrib import admin
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
