"""Label printing for any admin whose objects carry a QR label (devices, people, locations)."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from unfold.decorators import action

from config.kit.ids import pk_or_404
from locations.codes import label_key
from locations.labels import label_png, label_sheet_pdf, label_svg

MAX_LABELS_PER_SHEET_REQUEST = 2000


class LabelAdminMixin:
    """A bulk action printing A4 label sheets, and PNG/SVG buttons on each object's page."""

    @action(description=_("Print QR labels (A4 PDF)"), permissions=["view"])
    def print_labels(self, request, queryset):
        objects = list(queryset[:MAX_LABELS_PER_SHEET_REQUEST])
        response = HttpResponse(label_sheet_pdf(objects), content_type="application/pdf")
        name = self.model._meta.model_name
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=False, filename=f"{name}-labels.pdf"
        )
        return response

    def _single_label(self, request, object_id, render, content_type: str, suffix: str):
        obj = get_object_or_404(self.get_queryset(request), pk=pk_or_404(object_id))
        response = HttpResponse(render(obj), content_type=content_type)
        # The key is typed by people: quotes, semicolons, line breaks or Chinese are encoded.
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"{label_key(obj)}.{suffix}"
        )
        return response

    @action(description=_("Label PNG"), url_path="label-png", icon="qr_code", permissions=["view"])
    def label_png_action(self, request, object_id):
        return self._single_label(request, object_id, label_png, "image/png", "png")

    @action(
        description=_("Label SVG"), url_path="label-svg", icon="qr_code_2", permissions=["view"]
    )
    def label_svg_action(self, request, object_id):
        return self._single_label(request, object_id, label_svg, "image/svg+xml", "svg")
