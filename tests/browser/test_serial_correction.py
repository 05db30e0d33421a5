"""An administrator corrects a serial number mistyped at registration, in Chromium on the demo:
the Correct serial number button on the device's page, its form with a reason, the device page
naming the old serial as "also known as", and the device list finding it by the old serial."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in
from tests.browser.test_people_and_devices import in_chinese, in_english

pytestmark = pytest.mark.browser

# A demo device no other browser test changes (fixtures/0004_devices.json).
MISTYPED = "C726708191J9"
CORRECTED = "C726708191I9"


class SerialCorrectionBrowserTests:
    def test_an_administrator_corrects_a_serial_and_finds_the_device_by_the_old_one(
        self, page: Page, live_server_url: str, tmp_path
    ):
        log_in(page, live_server_url, "admin")
        page.goto(f"{live_server_url}/admin/locations/device/?q={MISTYPED}")
        page.locator("#result_list a", has_text=MISTYPED).first.click()
        device_url = page.url.split("?")[0]

        page.get_by_role("link", name=re.compile("Correct serial number")).click()
        form = page.get_by_test_id("serial-form")
        expect(form).to_be_visible()
        page.screenshot(path=tmp_path / "serial-form.png")
        # Without a reason the form is shown again, saying what is missing.
        page.get_by_label("Corrected serial number").fill(CORRECTED)
        page.get_by_role("button", name="Correct serial number").click()
        expect(page.locator(".errornote, .errorlist").first).to_be_visible()
        page.get_by_label("Reason for the correction").fill("J typed for I at registration")
        page.get_by_role("button", name="Correct serial number").click()

        expect(page).to_have_url(re.compile(re.escape(device_url)))
        expect(page.locator("body")).to_contain_text(f"{MISTYPED} is now {CORRECTED}")
        also_known_as = page.locator(".field-line", has_text="Also known as")
        expect(also_known_as).to_contain_text(MISTYPED)
        page.screenshot(path=tmp_path / "device-corrected.png")

        # The old serial still finds it, under its new serial.
        page.goto(f"{live_server_url}/admin/locations/device/?q={MISTYPED}")
        rows = page.locator("#result_list tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(CORRECTED)

        correct_path = device_url.removeprefix(live_server_url).replace(
            "change/", "correct-serial/"
        )
        in_chinese(page, live_server_url, correct_path)
        expect(page.get_by_test_id("serial-form")).to_be_visible()
        page.screenshot(path=tmp_path / "serial-form-zh.png")
        in_english(page, live_server_url)
