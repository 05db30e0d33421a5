"""Each person reads the product in their own language: the one they last chose in the language
switcher is kept on their account and used on every request, whatever the browser asks for."""

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.deprecation import MiddlewareMixin


def language_of(person) -> str:
    """The language `person` chose, when the product speaks it; otherwise an empty string."""
    language = getattr(person, "language", "") or ""
    return language if language in dict(settings.LANGUAGES) else ""


class PersonLanguageMiddleware(MiddlewareMixin):
    """After AuthenticationMiddleware: a person who chose a language gets it on every request;
    anyone else keeps what LocaleMiddleware chose (the cookie, then Accept-Language)."""

    def process_request(self, request: HttpRequest) -> None:
        language = language_of(getattr(request, "user", None))
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
