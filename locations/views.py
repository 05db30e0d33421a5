"""Custom admin pages of the physical world: the scan station and its printed command sheet.

The device admin mounts them (`model_admin`) and gives the person's scanning session through
its `scan_station(request)`: the registered admin adds there what the workflow knows of a device
and whether the person may handle it, so this floor asks no upper one."""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView
from unfold.views import UnfoldModelAdminViewMixin

from locations import selectors
from locations.labels import command_sheet_pdf

WELCOME = _("Scan a device, a person and a location, in any order.")


class ScanStationView(UnfoldModelAdminViewMixin, TemplateView):
    """One input that keeps the focus; a barcode scanner types each code and presses Enter."""

    title = _("Scan station")
    permission_required = ("locations.move_device",)
    template_name = "locations/scan_station.html"

    def get_context_data(self, **kwargs):
        station = self.model_admin.scan_station(self.request)
        return super().get_context_data(
            **kwargs,
            reasons=selectors.recent_reasons(self.request.user),
            texts={
                "device": _("Device"),
                "none": "—",
                "incident": _("Open incident"),
                "where": _("Now"),
                "offline": _("The server did not answer; scan again."),
                "kept": _("Stays:"),
                "undone": _("undone"),
                "camera": _(
                    "The camera cannot be used here: scan with the scanner or type the code."
                ),
            },
            initial=station.reply(
                "info", _("Scan a device, a person and a location, in any order.")
            ),
        )


# The longest reason a scan may carry: far beyond any reason people write.
MAX_SCAN_TEXT = 1000


class ScanRequestError(ValueError):
    """A scan request the station cannot read; the message says why, in the person's words."""


def _scan_request(body: bytes) -> tuple[dict, dict[str, str]]:
    """The posted JSON object and its texts (`code`, `reason`), or a ScanRequestError: not
    JSON (nested too deep to read, too), not an object, a text that is not a string, holds a
    character no database stores (NUL, a lone surrogate), or a reason longer than
    `MAX_SCAN_TEXT`."""
    try:
        data = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        raise ScanRequestError(_("The request is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ScanRequestError(_("The request must be a JSON object."))
    texts = {}
    for name in ("code", "reason"):
        value = data.get(name)
        if value is None:
            value = ""
        if isinstance(value, int | float) and not isinstance(value, bool):
            # A scanner may type a bare number (an employee number) that a script sent as one.
            value = str(value)
        if not isinstance(value, str):
            raise ScanRequestError(_("“%(field)s” must be text.") % {"field": name})
        if "\x00" in value or not _encodable(value):
            raise ScanRequestError(
                _("“%(field)s” holds a character that cannot be stored (NUL or a lone surrogate).")
                % {"field": name}
            )
        # An overlong code is the station's to explain (it names the longest a code can be).
        if name == "reason" and len(value) > MAX_SCAN_TEXT:
            raise ScanRequestError(
                _("“%(field)s” is longer than %(max)s characters.")
                % {"field": name, "max": MAX_SCAN_TEXT}
            )
        texts[name] = value
    return data, texts


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


class ScanStationApiView(UnfoldModelAdminViewMixin, View):
    """What the page posts for each scan, commit, undo and clear; answers the new state."""

    title = _("Scan station")
    permission_required = ("locations.move_device",)
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> JsonResponse:
        try:
            data, texts = _scan_request(request.body)
        except ScanRequestError as error:
            return JsonResponse({"level": "error", "message": str(error)}, status=400)
        station = self.model_admin.scan_station(request)
        operation = data.get("op")
        if operation == "scan":
            reply = station.scan(texts["code"], texts["reason"])
        elif operation == "commit":
            reply = station.commit(texts["reason"])
        elif operation == "undo":
            reply = station.undo()
        elif operation == "clear":
            reply = station.clear()
        else:
            message = _("Unknown operation: the page is out of date, reload it.")
            return JsonResponse({"level": "error", "message": str(message)}, status=400)
        return JsonResponse(reply)


class ScanCommandSheetView(UnfoldModelAdminViewMixin, View):
    """The A4 page of command codes (Move now, Undo last move, Start over) to print and hang at
    the scan station, in the language of whoever prints it."""

    title = _("Scan station commands")
    permission_required = ("locations.move_device",)
    http_method_names = ["get"]

    def get(self, request: HttpRequest) -> HttpResponse:
        pdf = command_sheet_pdf(
            title=str(self.title),
            hint=str(_("Scan a code with the scanner instead of pressing a key.")),
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=False, filename="scan-station-commands.pdf"
        )
        return response
