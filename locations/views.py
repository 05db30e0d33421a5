"""Custom admin pages of the physical world: the scan station and its printed command sheet."""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView
from unfold.views import UnfoldModelAdminViewMixin

from incidents import access
from incidents.selectors import scan_station_device_status
from locations import selectors
from locations.labels import command_sheet_pdf
from locations.scanning import ScanStation

WELCOME = _("Scan a device, a person and a location, in any order.")


def _station(request: HttpRequest) -> ScanStation:
    """The person's scanning session, with what the workflow knows of a device (for those who
    see incidents) and whether its project is open to them."""
    sees_incidents = request.user.has_perm("incidents.view_incident")
    return ScanStation(
        request.session,
        request.user,
        # Someone who only moves devices is not told about incidents.
        scan_station_device_status if sees_incidents else None,
        may_handle=lambda device: access.may_see_device(device, request.user),
    )


class ScanStationView(UnfoldModelAdminViewMixin, TemplateView):
    """One input that keeps the focus; a barcode scanner types each code and presses Enter."""

    title = _("Scan station")
    permission_required = ("locations.move_device",)
    template_name = "locations/scan_station.html"

    def get_context_data(self, **kwargs):
        station = _station(self.request)
        return super().get_context_data(
            **kwargs,
            reasons=selectors.recent_reasons(),
            texts={
                "device": _("Device"),
                "none": "—",
                "incident": _("Open incident"),
                "where": _("Now"),
                "offline": _("The server did not answer; scan again."),
                "kept": _("Stays:"),
                "undone": _("undone"),
            },
            initial=station.reply(
                "info", _("Scan a device, a person and a location, in any order.")
            ),
        )


class ScanStationApiView(UnfoldModelAdminViewMixin, View):
    """What the page posts for each scan, commit, undo and clear; answers the new state."""

    title = _("Scan station")
    permission_required = ("locations.move_device",)
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> JsonResponse:
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            return JsonResponse(
                {"level": "error", "message": _("The request must be a JSON object.")}, status=400
            )
        station = _station(request)
        operation = data.get("op")
        if operation == "scan":
            reply = station.scan(str(data.get("code", "")), str(data.get("reason", "")))
        elif operation == "commit":
            reply = station.commit(str(data.get("reason", "")))
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
