"""An administrator uploads the sample legacy workbook, reads the dry-run report, confirms, and
finds the imported devices in the list — the import running in the background of a real server."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in

pytestmark = pytest.mark.browser

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "legacy_sample.xlsx"


class LegacyImportBrowserTests:
    def test_upload_check_confirm_and_see_the_devices(self, page: Page, live_server_url: str):
        log_in(page, live_server_url, "admin")
        page.goto(f"{live_server_url}/admin/incidents/legacyimport/add/")
        page.set_input_files("input[name=workbook]", SAMPLE)
        page.get_by_role("button", name="Check the workbook").click()

        job = page.get_by_test_id("legacy-job")
        expect(job).to_have_attribute("data-status", "checked", timeout=30_000)
        report = page.get_by_test_id("legacy-report")
        expect(report.locator("tr[data-kind=register] [data-col=unchanged]")).to_have_text("40")
        expect(report.locator("tr[data-kind=trail] [data-col=unchanged]")).to_have_text("80")

        page.get_by_role("button", name="Import it").click()
        expect(page.get_by_test_id("legacy-job")).to_have_attribute(
            "data-status", "done", timeout=30_000
        )
        page.get_by_role("link", name="See the devices").click()
        page.locator("#searchbar").fill("LG")
        page.keyboard.press("Enter")
        expect(page.locator("#result_list")).to_contain_text("OLD-WH")
