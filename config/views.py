"""Views of the site as a whole that no single app owns."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views import i18n

from incidents.services.people import employee_set_language


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's `set_language` (the cookie and the redirect), and for someone logged in the
    choice kept on their account, so it follows them to any browser."""
    response = i18n.set_language(request)
    if request.method == "POST" and request.user.is_authenticated:
        language = request.POST.get(i18n.LANGUAGE_QUERY_PARAMETER, "")
        if language in dict(settings.LANGUAGES):
            employee_set_language(employee=request.user, language=language)
    return response
