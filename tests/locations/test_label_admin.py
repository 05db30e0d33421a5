"""The file names of downloaded labels carry keys people typed: quotes, semicolons, line breaks
and Chinese arrive in the browser as the same name, never as a broken header or an error."""

from email import policy
from email.message import EmailMessage

import pytest
from django.urls import reverse

from tests.factories import DeviceFactory, LocationFactory

pytestmark = pytest.mark.django_db


def filename_in(header: str) -> str:
    """The file name a standards-following client reads from a Content-Disposition header."""
    message = EmailMessage(policy=policy.HTTP)
    message["Content-Disposition"] = header
    return message.get_filename()


def label_url(obj, fmt: str) -> str:
    kind = obj._meta.model_name
    return reverse(f"admin:locations_{kind}_label_{fmt}_action", args=[obj.pk])


AWKWARD_KEYS = {
    "quote": 'SN"7',
    "semicolon": "SN;name=evil.exe",
    "backslash": "SN\\8",
    "chinese": "中文-01",
}


def assert_named(response, name: str) -> None:
    assert response.status_code == 200
    header = response["Content-Disposition"]
    assert header.startswith("attachment; ")
    assert "\n" not in header and "\r" not in header
    assert filename_in(header) == name


class SingleLabelFileNameTests:
    @pytest.mark.parametrize("fmt", ["png", "svg"])
    @pytest.mark.parametrize("key", AWKWARD_KEYS.values(), ids=AWKWARD_KEYS)
    def test_the_download_is_named_after_the_key_exactly(self, admin_client, key, fmt):
        device = DeviceFactory(serial_number=key)

        response = admin_client.get(label_url(device, fmt))

        assert_named(response, f"{key}.{fmt}")

    def test_a_line_break_in_a_key_cannot_add_a_header(self, admin_client):
        device = DeviceFactory(serial_number="SN\r\nSet-Cookie: x=1")

        for fmt in ("svg", "png"):
            response = admin_client.get(label_url(device, fmt))

            assert response.status_code == 200
            assert_named(response, f"SN\r\nSet-Cookie: x=1.{fmt}")
        assert "x" not in response.cookies

    def test_a_chinese_location_code_uses_the_utf8_file_name_parameter(self, admin_client):
        place = LocationFactory(code="仓库-B2")

        response = admin_client.get(label_url(place, "png"))

        assert response["Content-Disposition"] == (
            "attachment; filename*=utf-8''%E4%BB%93%E5%BA%93-B2.png"
        )

    def test_a_plain_key_keeps_its_plain_quoted_file_name(self, admin_client):
        device = DeviceFactory(serial_number="SN-ONE-01")

        response = admin_client.get(label_url(device, "svg"))

        assert response["Content-Disposition"] == 'attachment; filename="SN-ONE-01.svg"'


class LabelSheetFileNameTests:
    def test_the_sheet_opens_inline_under_the_name_of_its_kind(self, admin_client):
        device = DeviceFactory()

        response = admin_client.post(
            reverse("admin:locations_device_changelist"),
            {"action": "print_labels", "_selected_action": [device.pk]},
        )

        assert response["Content-Disposition"] == 'inline; filename="device-labels.pdf"'
