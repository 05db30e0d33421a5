"""Spreadsheet formats of the import/export buttons.

Text people typed is never exported as something a spreadsheet would run: a cell starting with
`=`, `+`, `-`, `@`, a tab or a carriage return is written with a leading apostrophe (the OWASP
advice for CSV injection), in CSV and XLSX alike; importing removes exactly that apostrophe
again, so an export re-imports as it was typed. XLSX sheets are named after what they hold, and
formulas in an uploaded workbook are read as their text, never evaluated.

Every workbook the product reads is checked before anything unpacks it (`workbook_check`): its
size, and what its parts declare they unpack to, in all and each against its packed size, so a
zip bomb of a megabyte is refused in milliseconds instead of costing gigabytes.
"""

import os
import tempfile
import zipfile
from io import BytesIO
from typing import BinaryIO

import openpyxl
import tablib
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from import_export.formats.base_formats import CSV, XLSX
from import_export.tmp_storages import TempFolderStorage
from unfold.contrib.import_export.forms import ImportForm

from config.kit.widgets import DropFileInput

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A part of a workbook unpacking to more than this many times its packed size is a bomb, not a
# sheet (sheets of repeated values pack about 5 to 50 times), once it is past a few megabytes.
MAX_PACKING_RATIO = 200
RATIO_CHECKED_FROM = 4 * 1024 * 1024


class WorkbookRefused(ValueError):
    """A workbook refused before it was opened; the message says why, in the reader's language."""


def _size_of(workbook: bytes | BinaryIO) -> int:
    if isinstance(workbook, bytes | bytearray):
        return len(workbook)
    size = getattr(workbook, "size", None)
    if size is None:
        workbook.seek(0, os.SEEK_END)
        size = workbook.tell()
        workbook.seek(0)
    return size


def workbook_check(workbook: bytes | BinaryIO, *, max_bytes: int, max_unpacked: int) -> None:
    """Refuse an .xlsx before anything opens it: larger than `max_bytes`, not a zip archive (as
    every .xlsx is), or with parts that would unpack to more than `max_unpacked` in all, or one
    that unpacks to more than MAX_PACKING_RATIO times its packed size. Only the archive's
    directory is read, where each part's sizes are declared; zipfile never unpacks a part past
    its declared size."""
    size = _size_of(workbook)
    if size > max_bytes:
        raise WorkbookRefused(
            _("The workbook is %(size)s; at most %(limit)s can be imported.")
            % {"size": filesizeformat(size), "limit": filesizeformat(max_bytes)}
        )
    stream = BytesIO(workbook) if isinstance(workbook, bytes | bytearray) else workbook
    try:
        with zipfile.ZipFile(stream) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise WorkbookRefused(
            _("This file is not an Excel workbook (.xlsx): it is not a zip archive.")
        ) from error
    finally:
        if hasattr(stream, "seek"):
            stream.seek(0)
    unpacked = sum(part.file_size for part in parts)
    bomb = any(
        part.file_size > RATIO_CHECKED_FROM
        and part.file_size > MAX_PACKING_RATIO * max(part.compress_size, 1)
        for part in parts
    )
    if unpacked > max_unpacked or bomb:
        raise WorkbookRefused(
            _(
                "The workbook's parts would unpack to %(size)s, more than the %(limit)s "
                "allowed, so it was not opened (it looks like a zip bomb)."
            )
            % {"size": filesizeformat(unpacked), "limit": filesizeformat(max_unpacked)}
            if not bomb
            else _(
                "A part of the workbook would unpack to more than %(ratio)s times its size, so "
                "it was not opened (it looks like a zip bomb)."
            )
            % {"ratio": MAX_PACKING_RATIO}
        )


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
        """The first sheet, formulas as their text (`data_only=False`): nothing is evaluated;
        a workbook too large or packed like a bomb is refused before it is opened."""
        workbook_check(
            in_stream,
            max_bytes=settings.SPREADSHEET_MAX_BYTES,
            max_unpacked=settings.SPREADSHEET_MAX_UNPACKED_BYTES,
        )
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

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        limit = settings.SPREADSHEET_MAX_BYTES
        if upload is not None and upload.size > limit:
            raise forms.ValidationError(
                _("The file is %(size)s; at most %(limit)s can be imported.")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
            )
        return upload


class ExportQueued(Exception):
    """A list export too large for a request was handed to the background: its page's URL."""

    def __init__(self, url: str):
        super().__init__(url)
        self.url = url


class BackgroundExports:
    """Where a list export of more than EXPORT_IMMEDIATE_MAX_ROWS rows goes. The app that keeps
    background jobs registers its `queue(request, *, model, file_format, params) -> url` (this
    module is a building block the apps import, so it never imports them); without one, every
    export is made in the request."""

    def __init__(self):
        self._queue = None

    def register(self, queue) -> None:
        self._queue = queue

    @property
    def available(self) -> bool:
        return self._queue is not None

    def queue(self, request, **kwargs) -> str:
        return self._queue(request, **kwargs)


background_exports = BackgroundExports()
# Rows read and written at a time by a background export.
EXPORT_CHUNK_ROWS = 1000


class SpreadsheetAdminMixin:
    """The import/export buttons of a list: safe formats, and importing is editing (the add and
    change permissions both), never the add permission alone. An export of more than
    EXPORT_IMMEDIATE_MAX_ROWS rows is made in the background (`background_exports`) and written
    row by row (`export_to_file`); a smaller one is made in the request, as before."""

    formats = SPREADSHEET_FORMATS
    import_form_class = SpreadsheetImportForm

    def add_data_read_fail_error_to_form(self, form, e):
        """A workbook refused before it was opened says why; any other unreadable file gets
        import-export's own words."""
        if isinstance(e, WorkbookRefused):
            form.add_error("import_file", str(e))
        else:
            super().add_data_read_fail_error_to_form(form, e)

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

    def process_import(self, request, **kwargs):
        """The confirmation of an import names the file its preview kept and the format it was
        read in. One that names no file waiting (confirmed twice, from an old page, or crafted:
        10,000 characters) or no format of the list is sent back to the import page saying
        so; import-export opened the file as named and answered 500."""
        if request.method == "POST" and self.has_import_permission(request):
            refusal = self._confirmation_refusal(request.POST)
            if refusal:
                messages.error(request, refusal)
                opts = self.model._meta
                return HttpResponseRedirect(
                    reverse(f"admin:{opts.app_label}_{opts.model_name}_import")
                )
        return super().process_import(request, **kwargs)

    def _confirmation_refusal(self, data) -> str | None:
        choice = data.get("format", "")
        formats = self.get_import_formats()
        if not (choice.isascii() and choice.isdigit() and int(choice[:6]) < len(formats)):
            return _("The confirmation names no file format of this list. Upload the file again.")
        if not issubclass(self.get_tmp_storage_class(), TempFolderStorage):
            return None
        # import-export keeps only the name's last part, in the temporary folder.
        name = os.path.basename(data.get("import_file_name", ""))
        folder = tempfile.gettempdir()
        if not (0 < len(name) <= 255 and os.path.isfile(os.path.join(folder, name))):
            return _(
                "The file of this confirmation is no longer waiting to be imported (it was "
                "imported already, or the preview is too old). Upload it again."
            )
        return None

    def export_action(self, request):
        try:
            return super().export_action(request)
        except ExportQueued as queued:
            return HttpResponseRedirect(queued.url)

    def get_export_data(self, file_format, request, queryset, **kwargs):
        """import-export's, with our XLSX recognised as a format of typed cells (it checks the
        exact class): dates and numbers are written as such, not as text. Past
        EXPORT_IMMEDIATE_MAX_ROWS rows the export becomes a background job."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        if background_exports.available and queryset.count() > settings.EXPORT_IMMEDIATE_MAX_ROWS:
            form = kwargs.get("export_form")
            params = {
                "pks": list(queryset.values_list("pk", flat=True)),
                "resource": self.get_resource_index(form),
                "fields": self.get_export_resource_fields_from_form(form) or None,
                "format": file_format.get_extension(),
            }
            raise ExportQueued(
                background_exports.queue(
                    request,
                    model=self.model,
                    file_format=file_format.get_extension(),
                    params=params,
                )
            )
        data = self.get_data_for_export(
            request, queryset, force_native_type=file_format.is_binary(), **kwargs
        )
        export_data = file_format.export_data(data)
        encoding = kwargs.get("encoding")
        if not file_format.is_binary() and encoding:
            export_data = export_data.encode(encoding)
        return export_data

    def export_to_file(self, *, request, params: dict, target, step) -> None:
        """Write a background export into `target` (`params` from get_export_data), as
        `request.user` sees the list now, EXPORT_CHUNK_ROWS rows at a time: XLSX in openpyxl's
        write-only mode, CSV line by line; `step(done, total)` after each chunk."""
        resource_class = self.get_export_resource_classes(request)[params.get("resource") or 0]
        resource = resource_class(**self.get_export_resource_kwargs(request))
        fields = params.get("fields") or None
        pks = list(params["pks"])
        binary = params["format"] == "xlsx"
        # What the person may see now; each row's own foreign keys read with it, not row by row.
        related = [f.name for f in self.model._meta.fields if f.many_to_one]
        visible = self.get_queryset(request).select_related(*related)
        headers = resource.get_export_headers(selected_fields=fields)
        title = capfirst(str(self.model._meta.verbose_name_plural))[:31]
        rows = _XlsxRows(target, title) if binary else _CsvRows(target)
        try:
            rows.header(headers)
            step(0, len(pks))
            for start in range(0, len(pks), EXPORT_CHUNK_ROWS):
                chunk = pks[start : start + EXPORT_CHUNK_ROWS]
                found = {item.pk: item for item in visible.filter(pk__in=chunk)}
                for pk in chunk:
                    if pk in found:
                        rows.add(
                            resource.export_resource(
                                found[pk], selected_fields=fields, force_native_type=binary
                            )
                        )
                step(min(start + EXPORT_CHUNK_ROWS, len(pks)), len(pks))
        finally:
            rows.close()

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


class _XlsxRows:
    """Rows into a write-only workbook: each row goes to disk as it is added."""

    def __init__(self, target, title: str):
        self.target = target
        self.book = openpyxl.Workbook(write_only=True)
        self.sheet = self.book.create_sheet(title or "Sheet")

    def header(self, headers: list) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        cells = []
        for header in headers:
            cell = WriteOnlyCell(self.sheet, value=escape_formula(header))
            cell.font = Font(bold=True)
            cells.append(cell)
        self.sheet.append(cells)

    def add(self, row: list) -> None:
        self.sheet.append([escape_formula(value) for value in row])

    def close(self) -> None:
        self.book.save(self.target)


class _CsvRows:
    """Rows into a CSV file, line by line, with the BOM Excel needs to read it as UTF-8."""

    def __init__(self, target):
        import csv

        # Closed by close(), once every row is written.
        self.file = open(target, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
        self.writer = csv.writer(self.file)

    def header(self, headers: list) -> None:
        self.add(headers)

    def add(self, row: list) -> None:
        self.writer.writerow(["" if v is None else escape_formula(str(v)) for v in row])

    def close(self) -> None:
        self.file.close()
