"""The daily screens in each reader's language, in Chromium: the add-incident form's labels and
header, the roles' header, the scan station's reason chips and slots (at phone width too), and a
device in the middle of its stage's work that a production staffer may not take away and its
own department takes away only with a reason, asked before anything is recorded."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in

pytestmark = pytest.mark.browser

HEADER = "#header-inner h1"


def in_language(page: Page, base: str, language: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": language, "url": base}])


def fae_lab_device(page: Page, base: str) -> str:
    """A device in the FAE lab whose open incident is in FAE retest (the demo puts some there)."""
    page.goto(f"{base}/admin/locations/device/?q=FAE-LAB")
    rows = page.locator("#result_list tbody tr")
    for index in range(rows.count()):
        row = rows.nth(index)
        # The stage badge may be drawn in capitals: its text is compared ignoring case.
        text = row.inner_text()
        if "fae retest" in text.lower() and "FAE-LAB" in text:
            return row.locator("th.field-serial_number a").inner_text().strip()
    raise AssertionError("the demo has no device in the FAE lab for FAE retest")


def scan(page: Page, *codes: str) -> None:
    for code in codes:
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("scan-input")).to_have_value("")


class DailyScreensBrowserTests:
    def test_forms_headers_and_the_scan_station_speak_the_readers_language(
        self, page: Page, live_server_url: str, tmp_path
    ):
        base = live_server_url
        log_in(page, base, "admin")

        # The add-incident form: sentence-case labels and a header that says what it is for.
        page.goto(f"{base}/admin/incidents/incident/add/")
        expect(page.locator(HEADER)).to_have_text(
            re.compile(r"Incidents\s*chevron_right\s*Add incident")
        )
        form = page.locator("#incident_form")
        for label in ("Project", "Fail station", "Where the new device is now"):
            expect(form.locator("label", has_text=re.compile(f"^{label}"))).to_have_count(1)
        expect(
            form.locator("label", has_text=re.compile(r"^(project|fail station)"))
        ).to_have_count(0)
        page.screenshot(path=tmp_path / "incident-add.png", full_page=True)

        # The roles: Settings > Roles > the role.
        page.goto(f"{base}/admin/auth/group/")
        expect(page.locator(HEADER)).to_have_text(
            re.compile(r"^\s*Settings\s*chevron_right\s*Roles\s*$")
        )
        page.locator("#result_list tbody th a").first.click()
        expect(page.locator(HEADER)).to_have_text(
            re.compile(r"Settings\s*chevron_right\s*Roles\s*chevron_right\s*\S")
        )
        expect(page.locator(HEADER)).not_to_contain_text("Authentication")

        in_language(page, base, "zh-hans")
        page.goto(f"{base}/admin/auth/group/")
        expect(page.locator(HEADER)).to_have_text(
            re.compile(r"^\s*设置\s*chevron_right\s*角色\s*$")
        )
        page.goto(f"{base}/admin/incidents/incident/add/")
        expect(page.locator(HEADER)).to_contain_text("异常事件")
        expect(page.locator(HEADER)).not_to_contain_text("Incidents")
        page.context.clear_cookies(name="django_language")

        # The scan station in English: English chips, the device slot labelled once.
        page.goto(f"{base}/admin/locations/device/scan/")
        chips = page.locator(".adt-scan-chip")
        expect(chips.first).to_have_text("Sent for analysis")
        for text in chips.all_inner_texts():
            assert not re.search(r"[\u4e00-\u9fff]", text), text

    def test_a_device_mid_stage_stays_unless_its_department_gives_a_reason(
        self, page: Page, live_server_url: str, tmp_path
    ):
        base = live_server_url
        log_in(page, base, "fae_1")
        serial = fae_lab_device(page, base)

        # A production staffer is refused before anything is recorded, told which department.
        page.context.clear_cookies()
        log_in(page, base, "prod_1")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/admin/locations/device/scan/")
        expect(page.get_by_test_id("scan-input")).to_be_focused()
        scan(page, f"DEV:{serial}")
        slot = page.get_by_test_id("slot-device")
        expect(slot).to_have_text(serial)
        # The slot's box holds the serial number at phone width.
        assert slot.evaluate("el => el.parentElement.scrollWidth <= el.parentElement.clientWidth")
        banner = page.get_by_test_id("scan-banner")
        scan(page, "WH-B2-06")
        expect(banner).to_have_attribute("data-level", "error")
        expect(banner).to_contain_text("only FAE")
        expect(page.get_by_test_id("scan-moves").locator("li")).to_have_count(0)
        page.screenshot(path=tmp_path / "scan-refused-390.png", full_page=True)
        page.set_viewport_size({"width": 1400, "height": 900})

        # Its own department is asked for a reason first; a chip and Enter move it.
        page.context.clear_cookies()
        log_in(page, base, "fae_1")
        page.goto(f"{base}/admin/locations/device/scan/")
        expect(page.get_by_test_id("scan-input")).to_be_focused()
        scan(page, f"DEV:{serial}")
        page.keyboard.type("WH-B2-06")
        page.keyboard.press("Enter")
        expect(banner).to_have_attribute("data-level", "reason")
        expect(banner).to_contain_text("give a reason")
        expect(page.locator("#scan-reason")).to_be_focused()
        expect(page.get_by_test_id("scan-moves").locator("li")).to_have_count(0)
        page.screenshot(path=tmp_path / "scan-reason.png")
        page.locator(".adt-scan-chip", has_text="Taken by FAE").click()
        page.keyboard.press("Enter")
        expect(banner).to_have_attribute("data-level", "moved")
        expect(page.get_by_test_id("scan-moves").locator("li")).to_have_count(1)
        # Undo, so the demo device is back where its stage works for other tests.
        page.keyboard.press("Control+z")
        expect(banner).to_have_attribute("data-level", "undone")
