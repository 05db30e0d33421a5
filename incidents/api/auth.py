"""Who is asking: a machine with a token (`Authorization: Bearer adt_…`, scopes) or a person
signed in to the product, who then sees exactly what their screens show: the same permissions
and the same `incidents.access` (a token sees no restricted project)."""

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _
from ninja.security import HttpBearer
from ninja.utils import check_csrf

from config.kit.language import language_of
from incidents.api.errors import ApiError
from incidents.api.rates import token_pace_check
from incidents.choices import ApiScope
from incidents.models import ApiToken
from incidents.services.tokens import api_token_authenticate, api_token_use_record

# What a person signed in needs to read what a scope opens: the permission their screens ask.
SCOPE_PERMISSIONS = {
    ApiScope.INCIDENTS_READ: ("incidents.view_incident",),
    ApiScope.DEVICES_READ: ("locations.view_device",),
    ApiScope.RESULTS_WRITE: ("incidents.add_incident",),
    ApiScope.WEBHOOKS_ADMIN: ("incidents.change_apitoken",),
}


@dataclass
class Caller:
    """A token or a person; `viewer` is whom `incidents.access` is asked about (None for a
    token: it sees only projects that are not restricted)."""

    token: ApiToken | None = None
    person: object | None = None

    @property
    def viewer(self):
        return self.person

    @property
    def name(self) -> str:
        return self.token.name if self.token else self.person.get_full_name()

    def may(self, scope: str, *permissions: str) -> bool:
        if self.token is not None:
            return scope in self.token.scopes
        needed = permissions or SCOPE_PERMISSIONS.get(scope, ())
        return self.person.is_active and all(self.person.has_perm(name) for name in needed)

    def require(self, scope: str, *permissions: str) -> None:
        if not self.may(scope, *permissions):
            if self.token is not None:
                message = _("This token does not have the scope %(scope)s.") % {"scope": scope}
            else:
                message = _("You may not read or do this in the product.")
            raise ApiError(403, "forbidden", message)


def caller(request: HttpRequest) -> Caller:
    return request.auth


class TokenOrSession(HttpBearer):
    """A bearer token when the request sends one (and then only that), else the session."""

    # Tells the reference page to send the CSRF token, so a person signed in can try writes.
    csrf = True

    def __call__(self, request: HttpRequest) -> Caller:
        header = request.headers.get("Authorization")
        if header is not None:
            kind, _space, secret = header.partition(" ")
            if kind.lower() != "bearer" or not secret.strip():
                raise ApiError(
                    401, "not_authenticated", _("Send the token as Authorization: Bearer <token>.")
                )
            return self.authenticate(request, secret.strip())
        person = getattr(request, "user", None)
        if person is None or not person.is_authenticated or not person.is_active:
            raise ApiError(
                401,
                "not_authenticated",
                _("Send a token (Authorization: Bearer …) or sign in."),
            )
        if request.method not in ("GET", "HEAD", "OPTIONS") and check_csrf(request):
            raise ApiError(
                403,
                "csrf",
                _("A signed-in request that writes needs the CSRF token (X-CSRFToken)."),
            )
        return Caller(person=person)

    def authenticate(self, request: HttpRequest, token: str) -> Caller:
        found = api_token_authenticate(token)
        if found is None:
            raise ApiError(401, "invalid_token", _("This token is unknown, revoked or expired."))
        language = language_of(found) or settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        token_pace_check(found)
        api_token_use_record(
            token=found,
            method=request.method or "",
            path=request.path,
            client=request.META.get("REMOTE_ADDR", ""),
            request_id=getattr(request, "request_id", ""),
        )
        return Caller(token=found)
