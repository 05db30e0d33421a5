"""A stage walked through the admin in Chromium by the people who own it: the FAE supervisor
assigns, the engineer records a retest with its log and a failing verdict and submits, the
supervisor approves, and the incident lands in X-ray with the whole story on its timeline."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in

pytestmark = pytest.mark.browser


def log_out(page: Page, base_url: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base_url}/admin/login/")


class WorkflowBrowserTests:
    def test_assign_record_submit_approve_moves_the_incident_to_xray(
        self, page: Page, live_server_url: str, tmp_path
    ):
        base = live_server_url
        log_in(page, base, "fae_lead")
        page.goto(f"{base}/admin/incidents/incident/?work=unassigned")
        page.locator("#result_list th.field-number a").first.click()
        incident_url = page.url
        incident_id = re.search(r"/incident/(\d+)/", incident_url).group(1)
        expect(page.locator("body")).to_contain_text("FAE retest")

        page.locator("a[href*='/assign/']").first.click()
        # Each candidate is named with their open workload after the name.
        zhao = page.locator("select[name=assignee] option", has_text="赵强 Zhao Qiang (10005) · ")
        page.select_option("select[name=assignee]", value=zhao.get_attribute("value"))
        page.get_by_role("button", name="Assign").click()
        expect(page.locator("body")).to_contain_text("is now FAE retest, In progress")

        log_out(page, base)
        log_in(page, base, "fae_1")
        page.goto(incident_url)
        page.locator("a[href*='/record/']").first.click()
        page.fill("input[name=action]", "Retest on golden station")
        page.fill("textarea[name=notes]", "Fails BT_RSSI again, -92 dBm")
        log_file = tmp_path / "retest.log"
        log_file.write_text("BT_RSSI -92 dBm FAIL\n")
        page.set_input_files("input[name=files]", log_file)
        page.get_by_role("button", name="Add operation record").click()
        expect(page.locator("[data-testid=attachment]").first).to_contain_text("retest.log")

        page.locator("a[href*='/result/']").first.click()
        page.fill("textarea[name=findings]", "Reproduced on the golden station")
        page.select_option("select[name=verdict]", value="fail")
        page.select_option("select[name=operation_record]", index=1)
        page.get_by_role("button", name="Add analysis result").click()
        page.locator("a[href*='/submit/']").first.click()
        page.get_by_role("button", name="Submit for review").click()
        expect(page.locator("body")).to_contain_text("Waiting for review")

        log_out(page, base)
        log_in(page, base, "fae_lead")
        page.goto(incident_url)
        page.locator("a[href*='/approve/']").first.click()
        expect(page.get_by_test_id("next-stage")).to_contain_text("X-ray inspection")
        page.get_by_role("button", name="Approve").click()

        expect(page.locator("body")).to_contain_text(
            f"incident #{incident_id} is now X-ray inspection, Waiting for assignment"
        )
        graph = page.get_by_test_id("workflow-graph")
        expect(graph.locator("[data-stage=xray]")).to_have_attribute("data-state", "current")
        expect(graph.locator("[data-stage=fae_retest]")).to_have_attribute("data-state", "visited")
        timeline = page.get_by_test_id("timeline")
        for action in ("approve", "submit", "result", "record", "assign"):
            expect(timeline.locator(f"li[data-action={action}]").first).to_be_visible()
        expect(timeline.locator("li[data-action=approve]").first).to_contain_text(
            "FAE retest → X-ray inspection"
        )
        expect(timeline).to_contain_text("Retest on golden station")
        page.screenshot(path=tmp_path / "approved.png", full_page=True)
