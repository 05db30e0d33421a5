"""The incident page shows what the line's test station said of the device, in Chromium on the
demo: the newest results in a table and a chart per test item, its limits drawn and its failing
runs marked, in English and in Chinese."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in, open_incident_of
from tests.browser.test_people_and_devices import in_chinese, in_english

pytestmark = pytest.mark.browser

# The first demo incident: its station reported twelve runs of three items (fixtures/demo.py).
SERIAL, STATION, FAILED_ITEM = "H296673755H0", "RF-OTA", "CAM_AF_FAIL"


class StationResultsBrowserTests:
    def test_the_incident_page_shows_the_devices_recent_results(
        self, page: Page, live_server_url: str
    ):
        log_in(page, live_server_url, "fae_1")
        open_incident_of(page, live_server_url, SERIAL)

        results = page.get_by_test_id("station-results")
        expect(results).to_be_visible()
        table = page.get_by_test_id("station-results-table")
        expect(table.locator("tbody tr")).to_have_count(20)
        newest = table.locator("tbody tr").first
        expect(newest).to_contain_text(STATION)
        expect(table.locator("tbody tr[data-passed='0']")).to_have_count(3)
        expect(table.get_by_role("link", name="log").first).to_have_attribute(
            "href", re.compile(rf"^https://testlogs\.example\.com/{SERIAL}/")
        )

        charts = page.get_by_test_id("sparkline")
        expect(charts).to_have_count(3)
        failed = charts.filter(has_text=FAILED_ITEM)
        # The failing item first, its three failures marked, both limits drawn.
        expect(charts.first).to_contain_text(FAILED_ITEM)
        expect(failed.locator("circle")).to_have_count(12)
        expect(failed.locator("circle[data-failing='1']")).to_have_count(3)
        expect(failed.locator("line[data-limit]")).to_have_count(2)
        box = failed.locator("svg").bounding_box()
        assert box and box["width"] > 100 and box["height"] > 20
        results.scroll_into_view_if_needed()
        page.screenshot(path="/tmp/line-results.png", full_page=False)
        results.screenshot(path="/tmp/line-results-card.png")

        in_chinese(page, live_server_url, page.url.removeprefix(live_server_url))
        table = page.get_by_test_id("station-results-table")
        expect(table.locator("thead")).to_contain_text("测试时间")
        expect(table.locator("tbody tr[data-passed='0']").first).to_contain_text("失败")
        page.get_by_test_id("station-results").screenshot(path="/tmp/line-results-zh.png")
        in_english(page, live_server_url)
