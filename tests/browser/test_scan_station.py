"""A line worker moves a demo device with the keyboard only, as a barcode scanner types: three
scans, a loud confirmation, and the new place on the device's page and in its trail. With two
things scanned nothing is recorded by waiting: the page says who keeps the device, Enter records
it, Ctrl+Z and the printed UNDO code undo it, and the undone move stays struck through."""

import re

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
        # A device without an open incident: one in the middle of a stage's work stays where
        # the stage works unless its department gives a reason (test_daily_screens).
        free = page.locator("#result_list tbody tr").filter(
            has=page.locator("td.field-open_stage", has_text=re.compile(r"^\s*—\s*$"))
        )
        first = free.first.locator("th.field-serial_number a")
        serial = first.inner_text().strip()
        device_url = first.get_attribute("href")

        # A clock the test moves on: waiting well past any countdown must record nothing.
        page.clock.install()
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

        # Device and location, no badge: ready, saying the holder stays, and nothing recorded.
        moves = page.get_by_test_id("scan-moves")
        for code in (f"DEV:{serial}", "WH-B2-05"):
            page.keyboard.type(code)
            page.keyboard.press("Enter")
        expect(banner).to_have_attribute("data-level", "ready")
        expect(banner).to_contain_text("Zhou Tao keeps holding it")
        expect(page.get_by_test_id("kept-employee")).to_have_text("Stays: 周涛 Zhou Tao")
        page.clock.run_for(15_000)
        expect(banner).to_have_attribute("data-level", "ready")
        expect(moves.locator("li")).to_have_count(1)
        page.screenshot(path=tmp_path / "scan-station-ready.png")
        page.keyboard.press("Enter")
        expect(banner).to_have_attribute("data-level", "moved")
        expect(moves.locator("li")).to_have_count(2)
        expect(page.get_by_test_id("kept-employee")).to_be_hidden()

        # Ctrl+Z undoes it; the move stays in the list, struck through.
        page.keyboard.press("Control+z")
        expect(banner).to_have_attribute("data-level", "undone")
        expect(moves.locator("li")).to_have_count(2)
        undone = moves.locator("li").first
        expect(undone).to_have_class(re.compile("adt-scan-undone"))
        expect(undone.locator("del")).to_have_css("text-decoration-line", "line-through")
        expect(undone.locator("del")).to_contain_text("WH-B2-05")
        expect(moves.locator("li").nth(1)).not_to_have_class(re.compile("adt-scan-undone"))
        page.keyboard.type("CMD:UNDO")
        page.keyboard.press("Enter")
        expect(banner).to_contain_text("undone already")

        # The printable command codes the scanner can read instead of keys.
        sheet = page.get_by_test_id("scan-commands")
        response = page.request.get(f"{live_server_url}{sheet.get_attribute('href')}")
        assert response.status == 200
        assert response.headers["content-type"] == "application/pdf"

        # The same screen in Chinese (the session's moves are still listed).
        page.context.add_cookies(
            [{"name": "django_language", "value": "zh-hans", "url": live_server_url}]
        )
        page.reload()
        expect(page.locator("#scan-clear")).to_contain_text("重新开始")
        expect(moves.locator("li.adt-scan-undone del")).to_have_count(1)
        page.screenshot(path=tmp_path / "scan-station-zh.png")
        page.context.clear_cookies(name="django_language")
        page.reload()
        page.clock.run_for(1000)
        expect(scan_input).to_be_focused()

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
