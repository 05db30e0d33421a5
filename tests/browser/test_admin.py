"""A demo supervisor logs in, switches to Chinese, opens the incident list and a device."""

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def log_in(page: Page, base_url: str, username: str, password: str = "demo") -> None:
    page.goto(f"{base_url}/")
    page.get_by_label(re.compile("Username|用户名")).fill(username)
    page.get_by_label(re.compile("Password|密码")).fill(password)
    # The form posts and the next page loads (the dashboard, or the login page saying why)
    # before the test goes on.
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("Log in|登录")).click()


def open_incident_of(page: Page, base_url: str, serial: str) -> None:
    """Open the (newest) incident of the device `serial` from the incident list's search."""
    page.goto(f"{base_url}/admin/incidents/incident/?q={serial}")
    page.locator("#result_list tbody tr a[href*='/change/']").first.click()
    expect(page).to_have_url(re.compile(r"/admin/incidents/incident/\d+/change/"))


class SupervisorBrowsingTests:
    def test_supervisor_switches_to_chinese_and_opens_incidents_and_a_device(
        self, page: Page, live_server_url: str, tmp_path
    ):
        log_in(page, live_server_url, "fae_lead")
        expect(page.get_by_test_id("dashboard-open")).to_contain_text("Open incidents")

        page.get_by_text("吴娜 Wu Na").first.click()
        page.get_by_role("button", name=re.compile("简体中文")).click()

        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        expect(page.get_by_test_id("dashboard-open")).to_contain_text("未关闭的异常事件")
        page.locator("a[href='/admin/incidents/incident/']").first.click()
        expect(page).to_have_title(re.compile("异常设备追踪"))
        expect(page.locator("#result_list")).to_contain_text("FAE复测")
        page.screenshot(path=tmp_path / "incidents-zh.png", full_page=True)

        page.locator("a[href='/admin/locations/device/']").first.click()
        first_device = page.locator("#result_list th.field-serial_number a").first
        serial = first_device.inner_text().strip()
        first_device.click()

        # The serial number names the device on labels and trails: shown, not edited.
        expect(page.locator("input[name=serial_number]")).to_have_count(0)
        expect(page.locator("#content, main").first).to_contain_text(serial)
        expect(page.get_by_text("当前位置").first).to_be_visible()
        page.screenshot(path=tmp_path / "device-zh.png", full_page=True)
        assert (tmp_path / "incidents-zh.png").stat().st_size > 10_000

        # The choice is kept on the account: the next login, in a fresh browser, is in Chinese
        # too, until the person switches back.
        page.context.clear_cookies()
        log_in(page, live_server_url, "fae_lead")
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        page.get_by_text("吴娜 Wu Na").first.click()
        page.get_by_role("button", name=re.compile("English")).click()
        expect(page.locator("html")).to_have_attribute("lang", "en")

    def test_wrong_password_is_refused_with_a_message(self, page: Page, live_server_url: str):
        log_in(page, live_server_url, "fae_lead", password="not-the-password")

        expect(page.locator("body")).to_contain_text("Please enter the correct username")
