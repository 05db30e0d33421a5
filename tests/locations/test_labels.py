"""QR labels as people print them: the A4 sheet of the "print labels" admin action, a PNG and an
SVG label per object. Every QR code is rendered and read back, and must say exactly what the
scan station recognises for that object."""

import io
import xml.etree.ElementTree as ET

import pypdfium2 as pdfium
import pytest
import zxingcpp
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from PIL import Image

from locations.codes import COMMAND_LABELS, Command, command_of, label_key, label_payload, resolve
from locations.labels import COLUMNS, ROWS
from tests.factories import DeviceFactory, EmployeeFactory, LocationFactory, StaffFactory

pytestmark = pytest.mark.django_db

PER_PAGE = COLUMNS * ROWS
SVG = "{http://www.w3.org/2000/svg}"


def pdf_pages(content: bytes) -> list[Image.Image]:
    pdf = pdfium.PdfDocument(content)
    try:
        return [page.render(scale=3).to_pil() for page in pdf]
    finally:
        pdf.close()


def qr_texts(image: Image.Image) -> list[str]:
    results = zxingcpp.read_barcodes(image)
    assert all(r.format == zxingcpp.BarcodeFormat.QRCode for r in results)
    return [r.text for r in results]


def print_labels(client, changelist: str, objects) -> bytes:
    response = client.post(
        reverse(changelist),
        {"action": "print_labels", "_selected_action": [obj.pk for obj in objects]},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    return response.content


def make_devices(count: int) -> list:
    return [DeviceFactory(serial_number=f"SN-LBL-{i:03d}") for i in range(count)]


def make_employees(count: int) -> list:
    people = [EmployeeFactory(display_name=f"Worker {i}") for i in range(count - 1)]
    return [*people, EmployeeFactory(employee_number="E88888", display_name="张伟")]


def make_locations(count: int) -> list:
    return [LocationFactory(code=f"WH-B{i}-05", name=f"仓库 {i}") for i in range(count)]


class LabelSheetTests:
    @pytest.mark.parametrize(
        ("changelist", "make", "count", "factory"),
        [
            ("admin:locations_device_changelist", make_devices, 30, DeviceFactory),
            ("admin:incidents_employee_changelist", make_employees, 5, EmployeeFactory),
            ("admin:locations_location_changelist", make_locations, 5, LocationFactory),
        ],
        ids=["devices", "employees", "locations"],
    )
    def test_every_qr_code_on_the_sheet_reads_back_as_its_object(
        self, admin_client, changelist, make, count, factory
    ):
        objects = make(count)
        factory()  # not selected, so not printed
        by_payload = {label_payload(obj): obj for obj in objects}

        pages = pdf_pages(print_labels(admin_client, changelist, objects))

        assert len(pages) == -(-count // PER_PAGE)
        texts = [text for page in pages for text in qr_texts(page)]
        assert sorted(texts) == sorted(by_payload)
        for text in texts:
            assert resolve(text).obj == by_payload[text]

    def test_thirty_devices_fill_the_first_page_and_continue_on_a_second(self, admin_client):
        devices = make_devices(30)

        first, second = pdf_pages(
            print_labels(admin_client, "admin:locations_device_changelist", devices)
        )

        assert len(qr_texts(first)) == PER_PAGE
        assert len(qr_texts(second)) == 30 - PER_PAGE

    def test_the_longest_and_non_ascii_codes_still_read_back(self, admin_client):
        longest = DeviceFactory(serial_number="sn-" + "9" * 61)
        chinese = LocationFactory(code="仓库A-01", name="一号仓库")
        content = [
            print_labels(admin_client, "admin:locations_device_changelist", [longest]),
            print_labels(admin_client, "admin:locations_location_changelist", [chinese]),
        ]

        texts = [qr_texts(pdf_pages(pdf)[0]) for pdf in content]

        assert texts == [[label_payload(longest)], [label_payload(chinese)]]
        assert [resolve(t[0]).obj for t in texts] == [longest, chinese]

    def test_staff_can_print_device_labels(self, staff_client):
        devices = make_devices(2)

        pages = pdf_pages(print_labels(staff_client, "admin:locations_device_changelist", devices))

        assert sorted(qr_texts(pages[0])) == sorted(label_payload(d) for d in devices)


def detail_url(kind: str, obj, fmt: str) -> str:
    app = "incidents" if kind == "employee" else "locations"
    return reverse(f"admin:{app}_{kind}_label_{fmt}_action", args=[obj.pk])


KINDS = {
    "device": lambda: DeviceFactory(serial_number="SN-ONE-01", config="CFG & <TX>"),
    "employee": lambda: EmployeeFactory(employee_number="E55555", display_name="王芳"),
    "location": lambda: LocationFactory(code="XRAY-LAB", name="X光室 <2F>"),
}


class SingleLabelTests:
    @pytest.mark.parametrize("kind", KINDS)
    def test_the_png_label_reads_back_as_its_object(self, admin_client, kind):
        obj = KINDS[kind]()

        response = admin_client.get(detail_url(kind, obj, "png"))

        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert f'filename="{label_key(obj)}.png"' in response["Content-Disposition"]
        image = Image.open(io.BytesIO(response.content))
        assert qr_texts(image) == [label_payload(obj)]
        assert resolve(label_payload(obj)).obj == obj

    @pytest.mark.parametrize("kind", KINDS)
    def test_the_svg_label_is_valid_xml_and_names_the_key(self, admin_client, kind):
        obj = KINDS[kind]()

        response = admin_client.get(detail_url(kind, obj, "svg"))

        assert response.status_code == 200
        assert response["Content-Type"] == "image/svg+xml"
        root = ET.fromstring(response.content)
        assert root.tag == f"{SVG}svg"
        texts = [element.text for element in root.iter(f"{SVG}text")]
        assert label_key(obj) in texts
        assert label_payload(obj).split(":")[0] in texts


class LabelPermissionTests:
    @pytest.mark.parametrize(
        ("changelist", "make"),
        [
            ("admin:locations_device_changelist", make_devices),
            ("admin:incidents_employee_changelist", make_employees),
            ("admin:locations_location_changelist", make_locations),
        ],
        ids=["devices", "employees", "locations"],
    )
    def test_someone_without_view_permission_cannot_print_a_sheet(self, client, changelist, make):
        objects = make(2)
        client.force_login(EmployeeFactory())

        response = client.post(
            reverse(changelist),
            {"action": "print_labels", "_selected_action": [obj.pk for obj in objects]},
        )

        assert response.status_code in (302, 403)
        assert response.get("Content-Type") != "application/pdf"

    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("fmt", ["png", "svg"])
    def test_someone_without_view_permission_cannot_get_a_single_label(self, client, kind, fmt):
        obj = KINDS[kind]()
        client.force_login(EmployeeFactory())

        response = client.get(detail_url(kind, obj, fmt))

        assert response.status_code in (302, 403)

    def test_anonymous_users_are_sent_to_the_login_for_a_single_label(self, client):
        response = client.get(detail_url("device", DeviceFactory(), "png"))

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))

    def test_staff_with_view_permission_get_single_labels(self, client):
        client.force_login(StaffFactory())

        response = client.get(detail_url("location", LocationFactory(), "png"))

        assert response.status_code == 200


def pdf_text(content: bytes) -> str:
    pdf = pdfium.PdfDocument(content)
    try:
        return "".join(page.get_textpage().get_text_range() for page in pdf)
    finally:
        pdf.close()


class CommandSheetTests:
    """The scan station's printable command codes: one page whose QR codes the station obeys."""

    URL = "admin:locations_device_scan_commands"

    def test_the_sheet_reads_back_as_move_undo_and_start_over_and_names_them(self, staff_client):
        response = staff_client.get(reverse(self.URL))

        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        (page,) = pdf_pages(response.content)
        codes = qr_texts(page)
        assert sorted(codes) == ["CMD:CLEAR", "CMD:MOVE", "CMD:UNDO"]
        assert [command_of(code) for code in codes] == [code[4:] for code in codes]
        text = pdf_text(response.content)
        for words in ("Scan station commands", "Move now", "Undo last move", "Start over"):
            assert words in text

    def test_the_sheet_is_printed_in_the_language_of_whoever_prints_it(self, staff_client):
        staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

        response = staff_client.get(reverse(self.URL))

        with translation.override("zh-hans"):
            undo = str(COMMAND_LABELS[Command.UNDO])
        assert undo != "Undo last move"
        assert undo in pdf_text(response.content)

    def test_someone_who_may_not_move_devices_cannot_print_it(self, client):
        client.force_login(EmployeeFactory())

        response = client.get(reverse(self.URL))

        assert response.status_code == 403

    def test_anonymous_users_are_sent_to_the_login(self, client):
        response = client.get(reverse(self.URL))

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
