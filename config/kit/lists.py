"""Long lists that open fast: a page of 50 rows with a choice of size, and rows that carry their
data only.

Unfold writes some 600 characters of utility classes on every cell and a hidden copy of the row
menu in every row: about 10 kB a row on the incident list. A list using `LeanListMixin` renders
its rows with this module (`lean_result_list`, `admin/lean_result_list.html`): each cell keeps
its field class and its label (the card layout of small screens shows it) and the look is
written once, in `css/lists.css`; the row actions are one menu for the page, filled in with the
row's id when it is opened (`js/row_actions.js`). The headers are built once a list, where
Unfold's `items_for_result` rebuilt them for every row to read one header's text.

This module is also the template library `admin_lists` (see TEMPLATES in settings).
"""

import datetime
import functools
import re
from collections import namedtuple

from django import template
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.templatetags.admin_list import result_hidden_fields
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import lookup_field
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import models
from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import NoReverseMatch
from django.utils.functional import Promise
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from unfold.admin import checkbox
from unfold.templatetags import unfold_list
from unfold.utils import (
    display_for_dropdown,
    display_for_field,
    display_for_header,
    display_for_label,
    display_for_value,
)

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


class KeysFirstPaginator(Paginator):
    """Django's paginator, reading a page far into a list by its keys first.

    A page is cut with OFFSET: the database makes every row before it, with each column of the
    list. A column read by a subquery (a device's open incident) was computed for every row
    skipped: the device list's last page took 0.9 s at 80,000 devices against 0.1 s for the
    first. From `deep_from` rows in, the page's keys are read in the list's order (no column
    but those it sorts by), then its rows by those keys.

    A list sorted by another table's column (an incident's assignee, a device's location) is
    read so from its first page: the database joins and sorts every row to find a page, and
    with the list's columns and their tables each row it sorted was some ten times wider
    (an incident list sorted by its assignee took 2.5 times as long as unsorted at 100,000
    incidents)."""

    deep_from = 1000

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        if not isinstance(self.object_list, QuerySet) or (
            bottom < self.deep_from and not sorts_through_join(self.object_list)
        ):
            return super().page(number)
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        keys = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        # Still the list's queryset, in its order (a list's order ends with its key).
        return self._get_page(self.object_list.filter(pk__in=keys), number, self)


def sorts_through_join(queryset: QuerySet) -> bool:
    """Whether `queryset` is ordered by a column of another table (a path across a relation,
    a foreign key ordered by its model's ordering) or by an expression."""
    model = queryset.model
    for item in queryset.query.order_by:
        expression = getattr(item, "expression", item)
        if isinstance(expression, F):
            item = expression.name
        if not isinstance(item, str):
            return True
        name = item.lstrip("-")
        if "__" in name:
            return True
        if name in ("pk", "?"):
            continue
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            # An annotation of the queryset: computed for each row sorted.
            return True
        if field.is_relation:
            return True
    return False


# The furthest a page may start (the database's offsets are 64-bit numbers).
MAX_OFFSET = 2**62


class LookaheadPaginator(Paginator):
    """A paginator that reads one row past its page instead of counting the rows, for the
    admin's autocomplete: it answers a page and whether more follow ("more": true), never a
    total. A one-letter term finds nearly every device, and counting them cost four times
    reading the page. Asking for the last page by name still counts."""

    def page(self, number):
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        if "count" in self.__dict__:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        if bottom > MAX_OFFSET:  # past any table, and past what the database can be asked
            raise EmptyPage(self.error_messages["no_results"])
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        # As many rows as are known: one past the page when more follow, so has_next() holds.
        self.count = bottom + len(rows)
        return self._get_page(rows[: self.per_page], number, self)


def _is_autocomplete(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.url_name == "autocomplete"


class LeanListMixin(SingleCountListMixin):
    """For a ModelAdmin: 50 rows a page by default, `?per_page=` choosing 25 to 200, and lean
    rows: the list is `admin/lean_change_list.html`, Unfold's change list whose result list is
    this library's `lean_result_list` and whose page links offer the sizes. It counts its rows
    once (SingleCountListMixin)."""

    list_per_page = DEFAULT_PAGE_SIZE
    paginator = KeysFirstPaginator
    # Import and export keep it as the list they add their buttons to.
    change_list_template = "admin/lean_change_list.html"

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        if _is_autocomplete(request) and not orphans:
            return LookaheadPaginator(queryset, per_page, orphans, allow_empty_first_page)
        paginator = super().get_paginator(
            request, queryset, per_page, orphans, allow_empty_first_page
        )
        # Unfold's pagination includes the paginator's own template for its links.
        paginator.template_name = "admin/lean_page_links.html"
        return paginator

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


# --- lean rows ------------------------------------------------------------------------------------
# Cells rendered from the changelist's data by this module, with Unfold's own display helpers
# and Django's admin helpers called as functions. Unfold's `items_for_result` would rebuild the
# column headers for every row (to read one header's text) and render a coloured label's
# template in every cell; here the headers are built once a list and each label once per value
# (scripts/upstream/unfold-list-speed.patch offers both to Unfold).

Row = namedtuple("Row", "instance cells")


def lean_rows(cl, headers: list[dict]) -> list[Row]:
    """The page's rows, each with its record and its cells' HTML."""
    forms = cl.formset.forms if getattr(cl, "formset", None) else None
    columns = _columns(cl, headers)
    return [
        Row(result, mark_safe("".join(_cells(cl, columns, result, forms[i] if forms else None))))
        for i, result in enumerate(cl.result_list)
    ]


def _field_class(field_name, index: int) -> str:
    """A column's name for its cells' class, as Django's admin writes it."""
    if callable(field_name):
        name = field_name.__name__
        name = f"lambda{index}" if name == "<lambda>" else name
    else:
        name = field_name
    return f"field-{name}"


def _columns(cl, headers: list[dict]) -> list[tuple]:
    """Each column as its cells need it: (name, class, label for small screens, linked), as
    Django's admin decides them (the first column is the link when no column is named)."""
    links = cl.list_display_links
    columns = []
    for index, field_name in enumerate(cl.list_display):
        linked = links is not None and ((index == 0 and not links) or field_name in links)
        label = headers[index]["text"] if linked or index else _("Select record")
        columns.append((field_name, _field_class(field_name, index), label, linked))
    return columns


def _cells(cl, columns, result, form):
    empty_value_display = cl.model_admin.get_empty_value_display()
    first_link = True
    for field_name, css, label, linked in columns:
        classes = css
        if field_name == "action_checkbox":
            html, classes = action_checkbox(result), "action-checkbox"
        else:
            html, nowrap = _cell_value(cl, result, field_name, empty_value_display)
            if nowrap:
                classes += " nowrap"
        if linked:
            tag = "th" if first_link else "td"
            first_link = False
            yield format_html(
                '<{} class="{}" data-label="{}">{}</{}>',
                tag,
                classes,
                label,
                _linked(cl, result, html),
                tag,
            )
            continue
        if form is not None and field_name in form.fields:
            bound = form[field_name]
            html = mark_safe(
                str(bound)
                + render_to_string("unfold/helpers/form_errors.html", {"errors": bound.errors})
            )
            if bound.errors:
                classes += " group errors"
        yield format_html('<td class="{}" data-label="{}">{}</td>', classes, label, html)


def _cell_value(cl, result, field_name, empty_value_display) -> tuple:
    """A cell's HTML as Unfold shows the value, and whether it is kept on one line."""
    try:
        field, attr, value = lookup_field(field_name, result, cl.model_admin)
    except ObjectDoesNotExist:
        return empty_value_display, False
    if field is None or field.auto_created:
        empty_value_display = getattr(attr, "empty_value_display", empty_value_display)
        nowrap = isinstance(value, datetime.date | datetime.time)
        if label := getattr(attr, "label", False):
            return label_html(value, empty_value_display, label), nowrap
        if getattr(attr, "dropdown", False):
            html = display_for_dropdown(result, field_name, value, empty_value_display)
            return _compact(html), nowrap
        if getattr(attr, "header", False):
            return _compact(display_for_header(value, empty_value_display)), nowrap
        if getattr(attr, "boolean", False):
            return boolean_html(value), nowrap
        return display_for_value(value, empty_value_display), nowrap
    nowrap = isinstance(field, models.DateField | models.TimeField | models.ForeignKey)
    if isinstance(field, models.BooleanField) and not getattr(field, "flatchoices", None):
        return boolean_html(value), nowrap
    if isinstance(field.remote_field, models.ManyToOneRel):
        related = getattr(result, field.name)
        return (empty_value_display if related is None else related), nowrap
    return display_for_field(value, field, empty_value_display), nowrap


def _linked(cl, result, html):
    """The cell's content as a link to the record's page (keeping the list's filters)."""
    try:
        url = cl.url_for_result(result)
    except NoReverseMatch:
        return html
    url = add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": cl.opts}, url)
    if cl.is_popup:
        value = result.serializable_value(str(cl.to_field) if cl.to_field else cl.opts.pk.attname)
        return format_html('<a href="{}" data-popup-opener="{}">{}</a>', url, value, html)
    return format_html('<a href="{}">{}</a>', url, html)


_SPACES = re.compile(r"\s+")


def _compact(html) -> SafeString:
    """A helper template's HTML without its indentation."""
    return mark_safe(_SPACES.sub(" ", str(html)).strip())


# Coloured labels (`@display(label=...)`) by value, colour and language: a list shows a handful.
_labels: dict[tuple, SafeString] = {}


def label_html(value, empty_value_display, label) -> SafeString:
    """A coloured label as Unfold renders it, rendered once per value, colour and language."""
    try:
        key = (_hashable(value), empty_value_display, _hashable(label), get_language())
        hash(key)
    except TypeError:
        return _compact(display_for_label(value, empty_value_display, label))
    html = _labels.get(key)
    if html is None:
        if len(_labels) >= 1000:
            _labels.clear()
        html = _labels[key] = _compact(display_for_label(value, empty_value_display, label))
    return html


def boolean_html(value) -> SafeString:
    """Unfold's yes / no / unknown icon, rendered once per value and language (a list of 50
    rows with a yes-no column rendered its template 50 times)."""
    shown = None if value is None or value == "" else bool(value)
    return _boolean_icons(shown, get_language())


@functools.lru_cache(maxsize=16)
def _boolean_icons(value: bool | None, language: str | None) -> SafeString:
    return _compact(display_for_value(value, "", boolean=True))


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
    translated), the row's key left as the placeholder, with the one class css/lists.css
    draws it by."""
    html = _compact(checkbox.render(ACTION_CHECKBOX_NAME, ROW_PK_PLACEHOLDER))
    return re.sub(r'class="[^"]*\baction-select\b[^"]*"', 'class="action-select"', html)


def action_checkbox(obj) -> SafeString:
    """A row's selection checkbox: Unfold's widget rendered once per language, with the row's
    key."""
    html = _checkbox_html(get_language())
    return mark_safe(html.replace(ROW_PK_PLACEHOLDER, escape(str(obj.pk))))


# --- the template library -------------------------------------------------------------------------
register = template.Library()


@register.inclusion_tag("admin/lean_result_list.html", takes_context=True)
def lean_result_list(context, cl) -> dict:
    """A changelist's rows and headers, for `admin/lean_change_list.html`: the headers built
    once, by Unfold, for the header row and every row's cells."""
    headers = list(unfold_list.result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": lean_rows(cl, headers),
        "actions_row": context.get("actions_row"),
        "has_add_permission": cl.model_admin.has_add_permission(context["request"]),
        "is_popup": context.get("is_popup"),
        "to_field": context.get("to_field"),
    }


@register.simple_tag
def row_pk_placeholder() -> str:
    return ROW_PK_PLACEHOLDER
