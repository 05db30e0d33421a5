"""Spreadsheet formats of the import/export buttons.

Text people typed is never exported as something a spreadsheet would run: a cell starting with
`=`, `+`, `-`, `@`, a tab or a carriage return is written with a leading apostrophe (the OWASP
advice for CSV injection), in CSV and XLSX alike; importing removes exactly that apostrophe
again, so an export re-imports as it was typed. XLSX sheets are named after what they hold, and
formulas in an uploaded workbook are read as their text, never evaluated.
"""

from io import BytesIO

import openpyxl
import tablib
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from import_export.formats.base_formats import CSV, XLSX
from unfold.contrib.import_export.forms import ImportForm

from config.widgets import DropFileInput

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def escape_formula(value):
    """`value` made safe to open in a spreadsheet; anything but text is left as it is."""
    if not isinstance(value, str) or not value:
        return value
    # A leading apostrophe before a formula start is escaped too, so unescaping is exact.
    if value.startswith(FORMULA_STARTS) or value.lstrip(QUOTE).startswith(FORMULA_STARTS):
        return QUOTE + value
    return value


def unescape_formula(value):
    """The text `escape_formula` was given."""
    if (
        isinstance(value, str)
        and value.startswith(QUOTE)
        and value.lstrip(QUOTE).startswith(FORMULA_STARTS)
    ):
        return value[1:]
    return value


def _map_cells(dataset: tablib.Dataset, function) -> tablib.Dataset:
    result = tablib.Dataset(headers=dataset.headers, title=dataset.title)
    for row in dataset:
        result.append([function(cell) for cell in row])
    return result


class SafeCSV(CSV):
    def export_data(self, dataset, **kwargs):
        return super().export_data(_map_cells(dataset, escape_formula), **kwargs)

    def create_dataset(self, in_stream, **kwargs):
        return _map_cells(super().create_dataset(in_stream, **kwargs), unescape_formula)


class SafeXLSX(XLSX):
    def export_data(self, dataset, **kwargs):
        return super().export_data(_map_cells(dataset, escape_formula), **kwargs)

    def create_dataset(self, in_stream):
        """The first sheet, formulas as their text (`data_only=False`): nothing is evaluated."""
        book = openpyxl.load_workbook(BytesIO(in_stream), read_only=True, data_only=False)
        try:
            rows = book.worksheets[0].iter_rows(values_only=True)
            dataset = tablib.Dataset()
            headers = list(next(rows, []))
            while headers and headers[-1] in (None, ""):
                headers.pop()
            dataset.headers = headers
            for row in rows:
                cells = (list(row) + [None] * len(headers))[: len(headers)]
                if any(value not in (None, "") for value in cells):
                    dataset.append([unescape_formula(value) for value in cells])
        finally:
            book.close()
        return dataset


SPREADSHEET_FORMATS = [SafeXLSX, SafeCSV]


class SpreadsheetImportForm(ImportForm):
    """Unfold's import form with the product's file input: pick the file or drop it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["import_file"]
        field.widget = DropFileInput(attrs={**field.widget.attrs, "accept": ".xlsx,.csv"})


class SpreadsheetAdminMixin:
    """The import/export buttons of a list: safe formats, and importing is editing (the add and
    change permissions both), never the add permission alone."""

    formats = SPREADSHEET_FORMATS
    import_form_class = SpreadsheetImportForm

    def process_result(self, result, request):
        """A file whose rows changed in the meantime (between the preview and the confirmation)
        and now fail is kept out as a whole: say which rows and why, not "Import finished"."""
        if result.has_errors() or result.has_validation_errors():
            for row in result.invalid_rows[:20]:
                reasons = "; ".join(
                    str(message) for messages in row.error_dict.values() for message in messages
                )
                messages.error(
                    request, _("Row %(row)s: %(why)s") % {"row": row.number, "why": reasons}
                )
            for row in result.row_errors()[:20]:
                for error in row[1]:
                    messages.error(
                        request, _("Row %(row)s: %(why)s") % {"row": row[0], "why": error.error}
                    )
            messages.error(request, _("Nothing was imported."))
            opts = self.model._meta
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_import"))
        return super().process_result(result, request)

    def get_export_data(self, file_format, request, queryset, **kwargs):
        """import-export's, with our XLSX recognised as a format of typed cells (it checks the
        exact class): dates and numbers are written as such, not as text."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        data = self.get_data_for_export(
            request, queryset, force_native_type=file_format.is_binary(), **kwargs
        )
        export_data = file_format.export_data(data)
        encoding = kwargs.get("encoding")
        if not file_format.is_binary() and encoding:
            export_data = export_data.encode(encoding)
        return export_data

    def init_request_context_data(self, request, form):
        """The export page names the columns as the file will head them, in its order."""
        context = super().init_request_context_data(request, form)
        kwargs = self.get_export_resource_kwargs(request)
        context["fields_list"] = [
            (resource.get_display_name(), resource(**kwargs).get_export_headers())
            for resource in self.get_export_resource_classes(request)
        ]
        return context

    def has_import_permission(self, request) -> bool:
        opts = self.opts
        return all(
            request.user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}")
            for action in ("add", "change")
        )
