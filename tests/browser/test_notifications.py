"""The EE supervisor works through their notifications in Chromium: the bell in the header
shows the count, unread rows stand out, a row opens its incident and is read from then on, the
list filters by kind, "mark all as read" empties the bell, and empty queues' counts are muted."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in

pytestmark = pytest.mark.browser


def unread_count(page: Page) -> int:
    count = page.get_by_test_id("notification-count")
    return int(count.inner_text()) if count.count() else 0


class NotificationsBrowserTests:
    def test_notifications_open_their_incident_and_are_read_from_then_on(
        self, page: Page, live_server_url: str, tmp_path
    ):
        base = live_server_url
        log_in(page, base, "ee_lead")
        expect(page.get_by_test_id("notification-bell")).to_be_visible()
        before = unread_count(page)
        assert before > 0

        page.get_by_test_id("notification-bell").click()
        expect(page).to_have_url(re.compile(r"/notification/\?unread=1$"))
        first = page.get_by_test_id("notification").first
        expect(first).to_have_attribute("data-unread", "1")
        assert first.evaluate("row => getComputedStyle(row).fontWeight") == "600"
        href = first.get_attribute("href")
        incident_id = re.search(r"#(\d+)", first.inner_text()).group(1)
        page.screenshot(path=tmp_path / "unread.png")

        first.click()
        expect(page).to_have_url(re.compile(rf"/incident/{incident_id}/change/"))
        expect(page.get_by_test_id("notification-count")).to_have_text(str(before - 1))
        page.goto(f"{base}/admin/incidents/notification/")
        opened = page.locator(f"[data-testid=notification][href='{href}']")
        expect(opened).to_have_attribute("data-unread", "0")
        assert opened.evaluate("row => getComputedStyle(row).fontWeight") == "400"

        page.locator(".adt-chip[data-kind=approve]").click()
        kinds = page.locator("#result_list td.field-kind")
        expect(kinds.first).to_be_visible()
        assert set(kinds.all_inner_texts()) == {"APPROVED"}

        # Empty queues are not alarms: their zero is grey.
        for badge in page.locator("[data-badge='0']").all():
            assert "adt-badge-muted" in badge.get_attribute("class")

        page.get_by_test_id("mark-all-read").click()
        expect(page.locator("body")).to_contain_text("marked as read")
        expect(page.get_by_test_id("notification-count")).to_have_count(0)
        expect(page.locator("[data-unread='1']")).to_have_count(0)
        page.screenshot(path=tmp_path / "all-read.png")
