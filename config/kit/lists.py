"""Long lists that open fast: a page of 50 rows with a choice of size, and rows that carry their
data only.

Unfold writes some 600 characters of utility classes on every cell and a hidden copy of the row
menu in every row: about 10 kB a row on the incident list. A list using `LeanListMixin` renders
its rows through `admin/lean_change_list_results.html`: each cell keeps its field class and its
label (the card layout of small screens shows it) and the look is written once, in
`css/lists.css`; the row actions are one menu for the page, filled in with the row's id when it
is opened (`js/row_actions.js`).

Unfold's `items_for_result` rebuilds the column headers (labels, sort links) for every row to
read one header's text, so each row cost as much as a header row; `share_headers` makes one
list's rows share the headers built once for it (see IncidentsConfig.ready).

This module is also the template library `admin_lists` (see TEMPLATES in settings).
"""

import functools
import re

from django import template
from django.contrib.admin.views.main import PAGE_VAR
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from unfold.admin import ModelAdmin as UnfoldModelAdmin
from unfold.templatetags import unfold_list
from unfold.templatetags.unfold_list import CHECKBOX_CLASSES, LINK_CLASSES, ROW_CLASSES
from unfold.widgets import CHECKBOX_CLASSES as CHECKBOX_INPUT_CLASSES

from config.kit.inputs import CheckedSelectionMixin

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
PAGE_SIZE_VAR = "per_page"
# The placeholder the row menu's links carry where the row's id goes.
ROW_PK_PLACEHOLDER = "ROW_PK"


def _session_key(opts) -> str:
    return f"list_per_page:{opts.label_lower}"


def chosen_page_size(request: HttpRequest, opts) -> int:
    """The page size asked for in the address (then kept for this list in the session), else
    the one kept, else the default."""
    asked = request.GET.get(PAGE_SIZE_VAR, "")
    if asked.isdigit() and int(asked) in PAGE_SIZES:
        if hasattr(request, "session"):
            request.session[_session_key(opts)] = int(asked)
        return int(asked)
    kept = request.session.get(_session_key(opts)) if hasattr(request, "session") else None
    return kept if kept in PAGE_SIZES else DEFAULT_PAGE_SIZE


def counted(rows: QuerySet, by: str) -> Coalesce:
    """For an annotation: how many of `rows` point at the listed row through `by`. A subquery
    per row of the page, where a COUNT over a join would group every row of both tables before
    the page is cut."""
    per_row = (
        rows.filter(**{by: OuterRef("pk")})
        .order_by()
        .values(by)
        .annotate(count=Count("*"))
        .values("count")
    )
    return Coalesce(Subquery(per_row, output_field=IntegerField()), 0)


class SingleCountListMixin(CheckedSelectionMixin):
    """For a ModelAdmin: a list counts the rows it lists, and not the whole table as well.

    Django counts both for a filtered or searched list to write "12 results (100,000 total)":
    on a large table the second count costs as much as the page. Such a list says "12 results
    (Show all)" instead; an unfiltered one says nothing about a total, as before (its count is
    the total).

    Every list of the product is built on this mixin (directly or through LeanListMixin), so
    it also refuses a crafted selection (CheckedSelectionMixin)."""

    show_full_result_count = False

    def get_changelist(self, request, **kwargs):
        base = super().get_changelist(request, **kwargs)

        class SingleCountChangeList(base):
            def get_results(self, request):
                super().get_results(request)
                if not self.query and not self.get_filters_params():
                    self.full_result_count = self.result_count
                    self.show_admin_actions = bool(self.result_count)

        return SingleCountChangeList


class LeanListMixin(SingleCountListMixin):
    """For a ModelAdmin: 50 rows a page by default, `?per_page=` choosing 25 to 200. The rows are
    lean where the model's templates say so: admin/<app>/<model>/change_list_results.html and
    pagination.html including the lean ones. It counts its rows once (SingleCountListMixin)."""

    list_per_page = DEFAULT_PAGE_SIZE

    def action_checkbox(self, obj) -> SafeString:
        return action_checkbox(obj)

    # The header's select-all box and anything else Unfold's column says about itself.
    vars(action_checkbox).update(vars(UnfoldModelAdmin.action_checkbox))

    def get_changelist(self, request, **kwargs):
        base = super().get_changelist(request, **kwargs)

        class PageSizeChangeList(base):
            def get_filters_params(self, params=None):
                lookup_params = super().get_filters_params(params)
                lookup_params.pop(PAGE_SIZE_VAR, None)
                return lookup_params

            def get_results(self, request):
                self.list_per_page = chosen_page_size(request, self.opts)
                super().get_results(request)
                self.page_sizes = [
                    {
                        "size": size,
                        "url": self.get_query_string({PAGE_SIZE_VAR: size}, [PAGE_VAR]),
                        "current": size == self.list_per_page,
                    }
                    for size in PAGE_SIZES
                ]

        return PageSizeChangeList


def share_headers() -> None:
    """Make Unfold's `result_headers` build a changelist's headers once and hand the same ones
    to every later call for that changelist: the header row and each row of the page. A
    changelist lives for one request and its headers do not change while it is rendered."""
    build = unfold_list.result_headers
    if getattr(build, "shared", False):
        return

    def result_headers(cl):
        headers = cl.__dict__.get("_shared_headers")
        if headers is None:
            headers = cl.__dict__["_shared_headers"] = list(build(cl))
        return iter(headers)

    result_headers.shared = True
    unfold_list.result_headers = result_headers


def render_labels_once() -> None:
    """Make Unfold's coloured labels in list cells (`@display(label=...)`) render their
    template once per value, colour and language and reuse the HTML: a list of 50 rows with
    two such columns rendered it 100 times a page for a handful of different labels."""
    render = unfold_list.display_for_label
    if getattr(render, "once", False):
        return
    rendered: dict[tuple, SafeString] = {}

    def display_for_label(value, empty_value_display, label):
        try:
            key = (_hashable(value), empty_value_display, _hashable(label), get_language())
            hash(key)
        except TypeError:
            return render(value, empty_value_display, label)
        html = rendered.get(key)
        if html is None:
            if len(rendered) >= 1000:
                rendered.clear()
            html = rendered[key] = render(value, empty_value_display, label)
        return html

    display_for_label.once = True
    display_for_label.rendered = rendered
    unfold_list.display_for_label = display_for_label


def _hashable(value):
    """`value` as a key: text as shown now, tuples and lists item by item, mappings as items."""
    if isinstance(value, dict):
        return tuple((_hashable(key), _hashable(item)) for key, item in value.items())
    if isinstance(value, tuple | list):
        return (type(value).__name__, *(_hashable(item) for item in value))
    if isinstance(value, Promise):
        return ("text", str(value))
    # 1, True and 1.0, or a text and the same text marked safe, are shown differently.
    return (type(value).__name__, value)


@functools.cache
def _checkbox_html(language: str | None) -> str:
    """Unfold's selection checkbox of a row as rendered in `language` (its label is
    translated), the row's key left as the placeholder."""
    from django.contrib.admin import helpers
    from unfold.admin import checkbox

    return checkbox.render(helpers.ACTION_CHECKBOX_NAME, ROW_PK_PLACEHOLDER)


def action_checkbox(obj) -> SafeString:
    """A row's selection checkbox: Unfold's widget rendered once per language, with the row's
    key."""
    html = _checkbox_html(get_language())
    return mark_safe(html.replace(ROW_PK_PLACEHOLDER, escape(str(obj.pk))))


# --- the template library -------------------------------------------------------------------------
register = template.Library()

_STRIPPED = [
    # Longest first: a shorter list may be the start of a longer one.
    (escape(" ".join(CHECKBOX_INPUT_CLASSES)) + " action-select", "action-select"),
    (" ".join(CHECKBOX_CLASSES), CHECKBOX_CLASSES[0]),
    (" " + " ".join(ROW_CLASSES), ""),
    (' class="' + " ".join(LINK_CLASSES) + '"', ""),
]
_SPACES = re.compile(r"\s+")


@register.filter
def lean_cell(cell: str) -> SafeString:
    """A cell as Unfold renders it, without the utility classes css/lists.css stands for and
    without the indentation of the templates it was made of."""
    html = str(cell)
    for long, short in _STRIPPED:
        html = html.replace(long, short)
    # Unfold's own, escaped cell, made smaller.
    return mark_safe(_SPACES.sub(" ", html))


@register.simple_tag
def row_pk_placeholder() -> str:
    return ROW_PK_PLACEHOLDER
