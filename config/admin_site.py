"""The admin site: Unfold's, with the product's names and a Ctrl+K answered afresh each time.

It is Django's default admin site (`AdminConfig.default_site`, through `config.apps.AdminConfig`
in INSTALLED_APPS), so `admin.site` and every `@admin.register` reach it; Unfold is installed
with its basic app config, which leaves the default site alone. Its sidebar, dashboard,
environment badge and Ctrl+K callbacks are Unfold settings (`UNFOLD` in settings) naming the
functions of `config.unfold`.

This module imports no app: the site is built while the apps' admin modules register on it.
"""

import re
import time

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.module_loading import import_string
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from unfold.dataclasses import SearchResult
from unfold.settings import get_config
from unfold.sites import UnfoldAdminSite

# Answers a page of Ctrl+K shows, as Unfold's palette asks for them (its next page on scroll).
SEARCH_PAGE_SIZE = 100
SEARCH_PAGE = re.compile(r"[0-9]{1,9}")


class Site(UnfoldAdminSite):
    """The product's admin site."""

    site_title = site_header = _("Abnormal Device Tracking")
    index_title = _("Dashboard")
    # The admin is the whole site: no "view site" link that would lead back here.
    site_url = None

    def get_app_list(self, request: HttpRequest, app_label=None):
        """The lists the person may open, by app, built when first read. Every page's context
        carries it (Django's `available_apps`), but the sidebar shows the settings' navigation
        instead, so on most pages it is never read: building it asked every registered admin
        for the person's rights and reversed every list's address, a few milliseconds a page.
        """
        return SimpleLazyObject(lambda: super(Site, self).get_app_list(request, app_label))

    def search(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """Ctrl+K's answers (and the sidebar's search of the lists), worked out for each
        request. Unfold keeps each person's answers for five minutes by the term alone, so a
        project restricted meanwhile, or another language, would be answered as before.

        A page that is not a whole number from 1 is refused saying so, and a page past the last
        answers nothing more (Unfold's view answered both with a server error)."""
        started = time.monotonic()
        page = request.GET.get("page", "1")
        if not SEARCH_PAGE.fullmatch(page) or int(page) < 1:
            message = _("The page of search answers must be a whole number from 1.")
            return HttpResponseBadRequest(str(message), content_type="text/plain; charset=utf-8")
        term = request.GET.get("s", "")
        if not term:
            return HttpResponse()
        extended = "extended" in request.GET
        results = self.search_answers(request, term.lower(), extended=extended)
        paginator = Paginator(results, SEARCH_PAGE_SIZE)
        if int(page) > max(paginator.num_pages, 1):
            return HttpResponse("")
        command = get_config(self.settings_name)["COMMAND"]
        return TemplateResponse(
            request,
            template=(
                "admin/command_results.html" if extended else "unfold/helpers/search_results.html"
            ),
            context={
                "page_obj": paginator,
                "results": paginator.page(page),
                "page_counter": (int(page) - 1) * SEARCH_PAGE_SIZE,
                "execution_time": time.monotonic() - started,
                "command_show_history": _setting_value(command.get("show_history"), request),
            },
            headers={"HX-Trigger": "search"},
        )

    def search_answers(self, request: HttpRequest, term: str, *, extended: bool) -> list:
        """What Ctrl+K lists for `term` (lower case), in Unfold's order: the lists whose name
        holds it, then (the palette, `extended`) the search callback's answers and the
        records of the models Ctrl+K searches."""
        app_list = self.get_app_list(request)
        results = self._lists_named(app_list, term)
        if extended:
            command = get_config(self.settings_name)["COMMAND"]
            callback = command.get("search_callback")
            if callback:
                results.extend(_setting_value(callback, request, term))
            searched = _setting_value(command.get("search_models"), request)
            if searched is True or isinstance(searched, list | tuple):
                only = None if searched is True else {label.lower() for label in searched}
                results.extend(self._records_found(request, app_list, term, only))
        return results

    def _lists_named(self, app_list: list[dict], term: str) -> list[SearchResult]:
        """Each list whose name or app's name holds `term`."""
        results = []
        for app in app_list:
            app_matches = term in str(app["name"]).lower()
            for model in app["models"]:
                if app_matches or term in str(model["name"]).lower():
                    results.append(
                        SearchResult(
                            title=str(model["name"]),
                            description=app["name"],
                            link=model["admin_url"],
                            icon="tag",
                        )
                    )
        return results

    def _records_found(
        self, request: HttpRequest, app_list: list[dict], term: str, only: set | None
    ) -> list[SearchResult]:
        """The records each searched model's own list search finds, among those the person's
        list shows."""
        results = []
        for app in app_list:
            for model in app["models"]:
                model_class = model["model"]
                opts = model_class._meta
                if only is not None and opts.label_lower not in only:
                    continue
                model_admin = self.get_model_admin(model_class)
                if not model_admin.get_search_fields(request):
                    continue
                found, _duplicates = model_admin.get_search_results(
                    request, model_admin.get_queryset(request), term
                )
                shown = set()
                for record in found:
                    if record.pk in shown:
                        continue
                    shown.add(record.pk)
                    results.append(
                        SearchResult(
                            title=str(record),
                            # What the record is, in the reader's language (the app's label
                            # is a code, in English whatever the language).
                            description=capfirst(opts.verbose_name),
                            link=reverse(
                                f"{self.name}:{opts.app_label}_{opts.model_name}_change",
                                args=(record.pk,),
                            ),
                            icon="data_object",
                        )
                    )
        return results


def _setting_value(value, *args):
    """An Unfold setting as Unfold reads it: a dotted path or a callable is called with
    `args`, anything else is the value."""
    if isinstance(value, str):
        try:
            value = import_string(value)
        except ImportError:
            return value
    return value(*args) if callable(value) else value
