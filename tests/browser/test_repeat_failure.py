"""A device that was returned to the line fails again, in Chromium on the demo: picked on the
new-incident form with its new failure typed, the new incident shows that failure, and the
device page lists both of its failures, newest first."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in
from tests.browser.test_people_and_devices import in_chinese, in_english, pick

pytestmark = pytest.mark.browser

# A demo device whose incident was returned to the line on MIC_SNR_LOW (fixtures/0005).
RETURNED_SERIAL = "C693367285K8"


class RepeatFailureBrowserTests:
    def test_a_returned_device_fails_again_and_keeps_both_failures(
        self, page: Page, live_server_url: str, tmp_path
    ):
        log_in(page, live_server_url, "prod_1")
        page.goto(f"{live_server_url}/admin/incidents/incident/add/")
        pick(page, "device", RETURNED_SERIAL)
        page.locator("#id_fail_station").fill("RF-OTA")
        page.locator("#id_fail_item").fill("WIFI_TX_POWER_LOW")
        page.locator("#id_test_log_url").fill("https://testlogs.example.com/again")
        page.screenshot(path=tmp_path / "repeat-add.png")
        page.locator("input[name=_save], button[name=_save]").first.click()

        # Saved, the list shows the device's incidents: the new one fails on Wi-Fi power.
        expect(page).to_have_url(re.compile(r"/admin/incidents/incident/"))
        page.goto(f"{live_server_url}/admin/incidents/incident/?q={RETURNED_SERIAL}")
        row = page.locator("#result_list tbody tr", has_text="WIFI_TX_POWER_LOW")
        expect(row).to_have_count(1)
        expect(page.locator("#result_list tbody tr", has_text="MIC_SNR_LOW")).to_have_count(1)
        row.locator("a[href*='/change/']").first.click()
        expect(page).to_have_url(re.compile(r"/admin/incidents/incident/\d+/change/"))
        failure = page.get_by_test_id("summary-failure")
        expect(failure).to_contain_text("RF-OTA")
        expect(failure).to_contain_text("WIFI_TX_POWER_LOW")
        expect(failure).not_to_contain_text("MIC_SNR_LOW")
        expect(page.get_by_test_id("summary-log")).to_contain_text("again")
        page.screenshot(path=tmp_path / "repeat-incident.png", full_page=True)

        page.get_by_test_id("summary-device").get_by_role("link").click()
        expect(page).to_have_url(re.compile(r"/admin/locations/device/\d+/change/"))
        content = page.locator("#content").inner_text()
        assert "WIFI_TX_POWER_LOW" in content and "MIC_SNR_LOW" in content
        assert content.index("WIFI_TX_POWER_LOW") < content.index("MIC_SNR_LOW")
        page.screenshot(path=tmp_path / "repeat-device.png", full_page=True)
        in_chinese(page, live_server_url, page.url.removeprefix(live_server_url))
        expect(page.locator("#content")).to_contain_text("WIFI_TX_POWER_LOW")
        page.screenshot(path=tmp_path / "repeat-device-zh.png", full_page=True)
        in_english(page, live_server_url)
