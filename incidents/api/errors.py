"""Every refusal of the API has one shape, `{"error": {"code", "message"}}`, with the message in
the token's or the person's language and the status that fits (DESIGN.md, "Machines talk to
it"); bad input is a 4xx, never a 5xx."""

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError


class ApiError(Exception):
    """A refusal: the status, a code a program reads and a message a person reads."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_request(message: str, code: str = "bad_request") -> ApiError:
    return ApiError(400, code, message)


def not_found() -> ApiError:
    return ApiError(404, "not_found", _("Nothing here, or nothing you may see."))


def _problem(error: dict) -> str:
    """What is wrong with one value, in words of the reader's language (pydantic says it in
    English only)."""
    kind = error.get("type", "")
    context = error.get("ctx") or {}
    if kind == "value_error" and context.get("error"):
        return str(context["error"])
    if kind == "missing":
        return _("is required")
    if kind in ("string_too_long", "too_long"):
        return _("is too long (at most %(max)s)") % {"max": context.get("max_length", "?")}
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return _("is out of range")
    if kind in ("enum", "literal_error"):
        return _("must be one of: %(choices)s") % {"choices": context.get("expected", "")}
    if kind.startswith("int") or kind.startswith("float"):
        return _("must be a number")
    if kind.startswith("bool"):
        return _("must be true or false")
    if kind.startswith("datetime") or kind.startswith("date"):
        return _("must be a date and time (ISO 8601)")
    if kind.startswith("string") or kind.startswith("str"):
        return _("must be text")
    if kind in ("list_type", "too_short"):
        return _("must be a list")
    return _("is not valid")


def field_name(error: dict) -> str:
    """The parameter or field an error is about ("limit", "results.3.passed")."""
    location = [str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body")]
    return ".".join(location) or "request"


def problems_by_field(errors: list[dict]) -> dict[str, str]:
    """{field: what is wrong with it} for one object's errors."""
    found = {}
    for error in errors:
        found.setdefault(field_name(error), _problem(error))
    return found


def validation_message(errors: list[dict]) -> str:
    return "; ".join(f"{field_name(error)}: {_problem(error)}" for error in errors[:10])


def install(api: NinjaAPI) -> None:
    """Puts the product's error shape in place of django-ninja's own answers."""

    def answer(request: HttpRequest, status: int, code: str, message: str, headers=None):
        response = api.create_response(
            request, {"error": {"code": code, "message": str(message)}}, status=status
        )
        for name, value in (headers or {}).items():
            response[name] = value
        return response

    @api.exception_handler(ApiError)
    def refused(request, exc: ApiError):
        return answer(request, exc.status, exc.code, exc.message, getattr(exc, "headers", None))

    @api.exception_handler(ValidationError)
    def invalid(request, exc: ValidationError):
        return answer(request, 400, "invalid", validation_message(exc.errors))

    @api.exception_handler(Http404)
    def missing(request, exc):
        error = not_found()
        return answer(request, error.status, error.code, error.message)

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        if isinstance(exc, Throttled):
            return answer(request, 429, "rate_limited", _("Too many requests: slow down."))
        if isinstance(exc, AuthenticationError):
            return answer(
                request,
                401,
                "not_authenticated",
                _("Send a token (Authorization: Bearer …) or sign in."),
            )
        if exc.status_code == 400:
            return answer(request, 400, "bad_request", _("The request's body is not valid JSON."))
        return answer(request, exc.status_code, "refused", str(exc))
