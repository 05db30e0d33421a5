"""A line worker moves a demo device with the keyboard only, as a barcode scanner types: three
scans, a loud confirmation, and the new place on the device's page and in its trail."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in

pytestmark = pytest.mark.browser


class ScanStationBrowserTests:
    def test_three_scans_move_a_device_and_its_page_shows_the_new_place(
        self, page: Page, live_server_url: str, tmp_path
    ):
        log_in(page, live_server_url, "xray_1")
        page.goto(f"{live_server_url}/admin/locations/device/")
        first = page.locator("#result_list th.field-serial_number a").first
        serial = first.inner_text().strip()
        device_url = first.get_attribute("href")

        page.goto(f"{live_server_url}/admin/locations/device/scan/")
        scan_input = page.get_by_test_id("scan-input")
        expect(scan_input).to_be_focused()
        for code in (f"DEV:{serial}", "WH-B2-06", "10008"):
            page.keyboard.type(code)
            page.keyboard.press("Enter")
            expect(scan_input).to_have_value("")

        banner = page.get_by_test_id("scan-banner")
        expect(banner).to_have_attribute("data-level", "moved")
        expect(banner).to_contain_text(f"Moved {serial} to WH-B2-06")
        expect(page.get_by_test_id("scan-moves")).to_contain_text(serial)
        expect(scan_input).to_be_focused()
        page.screenshot(path=tmp_path / "scan-station.png")

        page.keyboard.type(f"DEV:{serial}")
        page.keyboard.press("Enter")
        page.keyboard.type("NO-SUCH-CODE")
        page.keyboard.press("Enter")
        expect(banner).to_have_attribute("data-level", "error")
        expect(banner).to_contain_text("not a known device, person or location")
        page.keyboard.press("Escape")
        expect(page.get_by_test_id("slot-device")).to_have_text("—")

        page.goto(f"{live_server_url}{device_url}")
        # A clerk moves devices but does not edit them: the page shows the place as text.
        expect(page.locator("#content-main, main").first).to_contain_text("WH-B2-06")
        expect(page.locator("input[name=serial_number]")).to_have_count(0)
        latest = page.get_by_test_id("device-trail").get_by_test_id("trail-entry").first
        expect(latest).to_contain_text("WH-B2-06")
        expect(latest).to_contain_text("Zhou Tao")
