"""Input no page can use is refused before any view reads it.

PostgreSQL stores no NUL character in text: a NUL typed or crafted into any query parameter or
form field (a list filter, a search, a chat message) reached the database and answered a server
error. `NulRefusingMiddleware` answers such a request 400 with a page (or, for a request asking
for JSON, an error object) that says what was wrong, in the person's language. Bodies of JSON are
read by their views, which refuse NUL themselves (the scan station's API).

`CheckedSelectionMixin` refuses a list's bulk action on a selection crafted to hold what no row's
key can be; every list has it through config.kit.lists."""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

NUL = "\x00"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _holds_nul(values) -> bool:
    return any(NUL in key or any(NUL in value for value in vals) for key, vals in values.lists())


def carries_nul(request: HttpRequest) -> bool:
    """Whether the address's query, or the form posted, holds a NUL in a name or a value."""
    if NUL in request.path or _holds_nul(request.GET):
        return True
    if request.method == "POST" and request.content_type in FORM_TYPES:
        return _holds_nul(request.POST)
    return False


def refused_input(request: HttpRequest, message: str) -> HttpResponse:
    """400 saying `message`: in the REST API's own error shape under API_URL_PREFIX, as JSON
    for another script's request, else as a page in the product's frame."""
    if request.path.startswith(settings.API_URL_PREFIX):
        return JsonResponse({"error": {"code": "bad_request", "message": message}}, status=400)
    if "json" in request.headers.get("Accept", "") or request.content_type == "application/json":
        return JsonResponse(
            {"type": "error", "code": "bad_request", "message": message}, status=400
        )
    try:
        context = admin.site.each_context(request)
    except Exception:
        context = {}
    context.update(title=_("Bad request"), message=message, request_path=request.path)
    return render(request, "400.html", context, status=400)


class NulRefusingMiddleware:
    """See the module's docstring."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if carries_nul(request):
            return refused_input(
                request,
                _(
                    "The address or the form holds a NUL character, which nothing here can store "
                    "or search for. Remove it and try again."
                ),
            )
        return self.get_response(request)


class CheckedSelectionMixin:
    """For a ModelAdmin: a bulk action run on a selection holding something no row's key can be
    (text where a number goes, a number that is no UUID, a lone surrogate) is refused, saying
    so, and does nothing; Django's admin looked such a selection up as it came, which raised
    (500). A key that could be one but names no row is simply not found, as before."""

    def response_action(self, request, queryset):
        key = self.model._meta.pk
        try:
            for value in request.POST.getlist(ACTION_CHECKBOX_NAME):
                key.get_prep_value(key.to_python(value))
        except (ValueError, TypeError, ValidationError):
            messages.warning(
                request,
                _(
                    "The selection holds something that is not a row of this list; nothing was "
                    "done. Select the rows again."
                ),
            )
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)
