"""A problem group's 8D report in Chromium on the demo: a supervisor names the group's owner, the
owner (a staff member) fills D1 on the group's 8D tab and saves, a colleague reads it without a
form, and the page's 8D button asks the background worker for the PDF, which the job's page
offers once made."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in
from tests.browser.test_people_and_devices import pick

pytestmark = pytest.mark.browser

GROUP = "BUG-2025-0012"


def open_group(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/admin/incidents/problemgroup/")
    page.locator("#result_list a", has_text=GROUP).first.click()
    expect(page.locator("#content")).to_contain_text(GROUP)


def open_eightd_tab(page: Page) -> None:
    page.locator("#tabs-items a", has_text="8D report").click()


class EightDBrowserTests:
    def test_the_owner_fills_the_8d_tab_and_others_read_it(
        self, page: Page, live_server_url: str, tmp_path
    ):
        log_in(page, live_server_url, "fae_lead")
        open_group(page, live_server_url)
        pick(page, "owner", "Zhao")
        page.locator("button[name=_save]").click()
        expect(page.get_by_text(re.compile("was changed successfully"))).to_be_visible()

        page.context.clear_cookies()
        log_in(page, live_server_url, "fae_1")
        open_group(page, live_server_url)
        open_eightd_tab(page)
        expect(page.get_by_test_id("eightd-owner")).to_contain_text("Zhao")
        page.locator("textarea[name=eightd-0-team]").fill("赵强 (FAE), 马超 (EE)")
        page.locator("input[name=eightd-0-team_date]").fill("2025-03-03")
        page.screenshot(path=tmp_path / "eightd-owner.png", full_page=True)
        page.locator("button[name=_save]").click()
        expect(page.get_by_text(re.compile("was changed successfully"))).to_be_visible()

        page.context.clear_cookies()
        log_in(page, live_server_url, "fae_2")
        open_group(page, live_server_url)
        open_eightd_tab(page)
        expect(page.locator("textarea[name=eightd-0-team]")).to_have_count(0)
        expect(page.locator("#content")).to_contain_text("赵强 (FAE), 马超 (EE)")
        page.screenshot(path=tmp_path / "eightd-reader.png", full_page=True)

        # The 8D PDF is made by the background worker: its job page shows it ready.
        page.get_by_test_id("eightd-report-pdf").click()
        expect(page).to_have_url(re.compile(r"/admin/incidents/reportjob/[0-9a-f-]+/change/"))
        # The job's page follows the job and reloads itself once it is done (reloading it from
        # here as well could cut its own reload short).
        job = page.get_by_test_id("report-job")
        expect(job).to_have_attribute("data-status", "done", timeout=180_000)
        page.screenshot(path=tmp_path / "eightd-job.png", full_page=True)
        link = page.get_by_test_id("report-job-download")
        response = page.request.get(live_server_url + link.get_attribute("href"))
        assert response.status == 200
        assert re.match("application/pdf", response.headers["content-type"])
