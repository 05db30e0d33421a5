"""QR labels for devices, people and locations: A4 sheets as PDF, single labels as SVG or PNG.
Each QR code encodes exactly what the scan station recognises (codes.label_payload)."""

import io
import subprocess
from functools import cache
from xml.sax.saxutils import escape

import segno
from django.contrib.auth import get_user_model
from django.db.models import Model
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from locations.codes import COMMAND_LABELS, Command, command_payload, label_key, label_payload
from locations.models import Device

# A4 label paper, 3 by 8 labels of 70 by 37 mm (the common 24-up sheet).
COLUMNS, ROWS = 3, 8
LABEL_WIDTH, LABEL_HEIGHT = 70 * mm, 37 * mm
TOP_MARGIN = (A4[1] - ROWS * LABEL_HEIGHT) / 2
# Chinese names print with a font every PDF reader has (no font file needed on the server).
CJK_FONT = "STSong-Light"


def label_title(obj: Model) -> str:
    if isinstance(obj, Device):
        return " ".join(filter(None, [obj.project, obj.hardware_version, obj.config]))
    if isinstance(obj, get_user_model()):
        return obj.get_full_name()
    return obj.name


def label_kind(obj: Model) -> str:
    return label_payload(obj).split(":", 1)[0]


def _draw_qr(pdf: canvas.Canvas, payload: str, x: float, y: float, size: float) -> None:
    qr = segno.make(payload, error="m", micro=False)
    matrix = list(qr.matrix_iter(border=2))
    module = size / len(matrix)
    for row_index, row in enumerate(matrix):
        for column_index, dark in enumerate(row):
            if dark:
                pdf.rect(
                    x + column_index * module,
                    y + size - (row_index + 1) * module,
                    module,
                    module,
                    stroke=0,
                    fill=1,
                )


def label_sheet_pdf(objects: list[Model]) -> bytes:
    """A4 pages of labels, left to right and top to bottom, as many pages as needed."""
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle("Abnormal Device Tracking labels")
    per_page = COLUMNS * ROWS
    for index, obj in enumerate(objects):
        if index and index % per_page == 0:
            pdf.showPage()
        slot = index % per_page
        column, row = slot % COLUMNS, slot // COLUMNS
        x = column * LABEL_WIDTH
        y = A4[1] - TOP_MARGIN - (row + 1) * LABEL_HEIGHT
        qr_size = LABEL_HEIGHT - 4 * mm
        _draw_qr(pdf, label_payload(obj), x + 2 * mm, y + 2 * mm, qr_size)
        text_x = x + qr_size + 5 * mm
        pdf.setFont("Helvetica-Bold", 7)
        pdf.drawString(text_x, y + LABEL_HEIGHT - 8 * mm, label_kind(obj))
        pdf.setFont("Helvetica-Bold", 10)
        pdf.drawString(text_x, y + LABEL_HEIGHT - 14 * mm, label_key(obj)[:20])
        pdf.setFont(CJK_FONT, 8)
        title = label_title(obj)
        for line_number, start in enumerate(range(0, min(len(title), 48), 16)):
            pdf.drawString(
                text_x, y + LABEL_HEIGHT - (20 + 4 * line_number) * mm, title[start : start + 16]
            )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


# The command sheet hangs at the scan station: the order is the order of a move's life.
COMMAND_SHEET = [Command.MOVE, Command.UNDO, Command.CLEAR]


def command_sheet_pdf(*, title: str, hint: str) -> bytes:
    """One A4 page with a large QR code for each scan station command (Move now, Undo last move,
    Start over), named in the reader's language, so a clerk holding a scanner needs no keyboard.
    `title` and `hint` are the page's heading and the line under it."""
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(title)
    height = A4[1]
    pdf.setFont(CJK_FONT, 20)
    pdf.drawString(20 * mm, height - 25 * mm, title)
    pdf.setFont(CJK_FONT, 10)
    pdf.drawString(20 * mm, height - 33 * mm, hint)
    qr_size, step = 70 * mm, 82 * mm
    for index, command in enumerate(COMMAND_SHEET):
        y = height - 45 * mm - (index + 1) * step + (step - qr_size)
        _draw_qr(pdf, command_payload(command), 20 * mm, y, qr_size)
        pdf.setFont(CJK_FONT, 24)
        pdf.drawString(
            20 * mm + qr_size + 10 * mm, y + qr_size / 2 + 4 * mm, str(COMMAND_LABELS[command])
        )
        pdf.setFont("Helvetica", 11)
        pdf.drawString(
            20 * mm + qr_size + 10 * mm, y + qr_size / 2 - 6 * mm, command_payload(command)
        )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def label_svg(obj: Model) -> str:
    """One label as SVG: the QR code on the left, kind, code and name on the right."""
    qr = segno.make(label_payload(obj), error="m", micro=False)
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=4, border=2, xmldecl=False, svgns=True, omitsize=False)
    qr_svg = out.getvalue().decode()
    qr_size = qr.symbol_size(scale=4, border=2)[0]
    width, height = qr_size + 260, max(qr_size, 110)
    text_x = qr_size + 10
    lines = [
        (28, 14, "bold", label_kind(obj)),
        (56, 20, "bold", label_key(obj)),
        (84, 14, "normal", label_title(obj)),
    ]
    texts = "".join(
        f'<text x="{text_x}" y="{y}" font-size="{size}" font-weight="{weight}">'
        f"{escape(text)}</text>"
        for y, size, weight, text in lines
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><rect width="100%" height="100%" fill="#fff"/>'
        f'<g>{qr_svg}</g><g font-family="sans-serif" fill="#000">{texts}</g></svg>'
    )


@cache
def _font_path() -> str | None:
    """A font with Chinese glyphs, from fontconfig (fonts-noto-cjk), if the machine has one."""
    try:
        result = subprocess.run(
            ["fc-match", "-f", "%{file}", "Noto Sans CJK SC"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


def _font(size: int):
    path = _font_path()
    try:
        return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)
    except OSError:
        return ImageFont.load_default(size)


def _one_line(text: str) -> str:
    """Printed text on one line: line breaks and other control characters become spaces."""
    return " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())


def label_png(obj: Model) -> bytes:
    """One label as PNG, for label printers that take images."""
    qr_buffer = io.BytesIO()
    segno.make(label_payload(obj), error="m", micro=False).save(
        qr_buffer, kind="png", scale=8, border=2
    )
    qr_image = Image.open(qr_buffer).convert("RGB")
    size = qr_image.height
    image = Image.new("RGB", (size + 520, size), "white")
    image.paste(qr_image, (0, 0))
    draw = ImageDraw.Draw(image)
    draw.text((size + 16, 20), _one_line(label_kind(obj)), fill="black", font=_font(28))
    draw.text((size + 16, 64), _one_line(label_key(obj)), fill="black", font=_font(40))
    draw.text((size + 16, 124), _one_line(label_title(obj))[:24], fill="black", font=_font(28))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
