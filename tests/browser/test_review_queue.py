"""The FAE supervisor works the review queue in Chromium: the sidebar marks the queue and the
list is headed with its name; an incident opened from it answers the first questions at the top
(also on a phone) and, after a decision, offers the next incident of the queue. "Send back" looks
destructive, "Back" does not. Where the supervisor did the work themselves, the verdict is asked
for, Submit and then Approve are shown disabled with the reason, on the page and in the row menu."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in

pytestmark = pytest.mark.browser

# The colour an element shows: its own background or the first one behind it, as RGB.
SHOWN_BACKGROUND = """element => {
    let node = element;
    while (node.parentElement && getComputedStyle(node).backgroundColor === "rgba(0, 0, 0, 0)") {
        node = node.parentElement;
    }
    const paint = document.createElement("canvas").getContext("2d");
    paint.fillStyle = getComputedStyle(node).backgroundColor;
    paint.fillRect(0, 0, 1, 1);
    return Array.from(paint.getImageData(0, 0, 1, 1).data.slice(0, 3));
}"""


def looks_red(locator) -> bool:
    red, green, blue = locator.evaluate(SHOWN_BACKGROUND)
    return red > 180 and green < 90 and blue < 90


def within_first_screen(page: Page, test_id: str) -> bool:
    box = page.get_by_test_id(test_id).bounding_box()
    return box is not None and box["y"] + box["height"] <= page.viewport_size["height"]


class ReviewQueueBrowserTests:
    def test_supervisor_clears_the_review_queue_without_a_dead_end(
        self, page: Page, live_server_url: str, tmp_path
    ):
        base = live_server_url
        log_in(page, base, "fae_lead")

        # The queue is a place: marked in the sidebar, named above the list.
        page.goto(f"{base}/admin/incidents/incident/?work=review")
        expect(page.locator("#nav-sidebar-inner a.active, aside a.active").first).to_have_attribute(
            "href", re.compile(r"\?work=review$")
        )
        expect(page.get_by_test_id("queue-heading")).to_contain_text("Waiting for my review")
        page.locator("#result_list th.field-number a").first.click()

        # The first questions answered above the fold, before any form.
        for part in ("summary-device", "summary-failure", "summary-where", "summary-verdict"):
            expect(page.get_by_test_id(part)).not_to_be_empty()
            assert within_first_screen(page, part), part
        expect(page.get_by_test_id("summary-failure")).not_to_have_text("—")
        expect(page.get_by_test_id("queue-bar")).to_have_attribute("data-queue", "review")
        expect(page.locator("a.active[href$='?work=review']").first).to_be_visible()
        assert looks_red(page.locator("a[href*='/reject/']").first)
        assert not looks_red(page.locator("a[href*='/approve/']").first)
        page.screenshot(path=tmp_path / "incident-in-queue.png")

        # Send back is a red button; leaving the form is a quiet link on the other side.
        page.locator("a[href*='/reject/']").first.click()
        assert looks_red(page.get_by_role("button", name="Send back"))
        assert not looks_red(page.get_by_test_id("workflow-back"))
        page.get_by_test_id("workflow-back").click()

        # After the decision the page offers the next incident of the same queue.
        page.locator("a[href*='/approve/']").first.click()
        page.get_by_role("button", name="Approve").click()
        expect(page.locator("body")).to_contain_text(re.compile(r"incident #\d+ is now"))
        expect(page.get_by_test_id("queue-bar")).to_be_visible()
        following = page.get_by_test_id("queue-next")
        if following.count():
            following.click()
            expect(page).to_have_url(re.compile(r"_changelist_filters=work%3Dreview"))
            expect(page.locator("a[href*='/approve/']").first).to_be_visible()
        else:
            expect(page.get_by_test_id("queue-empty")).to_be_visible()

        # The supervisor takes one themselves: the verdict is asked for, nothing is a dead end.
        page.goto(f"{base}/admin/incidents/incident/?work=unassigned")
        page.locator("#result_list th.field-number a").last.click()
        incident_url = page.url
        incident_id = re.search(r"/incident/(\d+)/", incident_url).group(1)
        page.locator("a[href*='/assign/']").first.click()
        me = page.locator("select[name=assignee] option", has_text="Wu Na").get_attribute("value")
        page.select_option("select[name=assignee]", value=me)
        page.get_by_role("button", name="Assign").click()
        page.locator("a[href*='/record/']").first.click()
        page.fill("input[name=action]", "Retest on the golden station")
        page.get_by_role("button", name="Add operation record").click()
        expect(page.get_by_test_id("disabled-submit")).to_be_disabled()
        expect(page.get_by_test_id("blocked-submit")).to_contain_text("needs a verdict")

        page.locator("a[href*='/result/']").first.click()
        expect(page.locator("select[name=verdict]")).to_have_value("")
        page.fill("textarea[name=findings]", "Reproduced")
        page.get_by_role("button", name="Add analysis result").click()
        expect(page).to_have_url(re.compile(r"/result/"))
        expect(page.locator("body")).to_contain_text("This field is required")
        page.select_option("select[name=verdict]", value="fail")
        page.get_by_role("button", name="Add analysis result").click()
        expect(page.get_by_test_id("blocked-submit")).to_have_count(0)
        page.locator("a[href*='/submit/']").first.click()
        page.get_by_role("button", name="Submit for review").click()

        expect(page.get_by_test_id("disabled-approve")).to_be_disabled()
        expect(page.get_by_test_id("blocked-approve")).to_contain_text(
            "you cannot approve it yourself"
        )
        page.screenshot(path=tmp_path / "approve-disabled.png")

        # The row menu says the same instead of offering an Approve that fails.
        page.goto(f"{base}/admin/incidents/incident/?step__exact=submitted&q={incident_id}")
        menu_button = page.locator(f"[data-row-actions='{incident_id}']")
        menu_button.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        menu_button.click()
        approve = page.locator(".adt-list-menu [aria-disabled=true]", has_text="Approve")
        expect(approve).to_contain_text("you cannot approve it yourself")
        page.screenshot(path=tmp_path / "row-menu.png")

        # On a phone, the same summary is the first thing on the page.
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(incident_url)
        for part in ("summary-device", "summary-failure", "summary-assignee"):
            assert within_first_screen(page, part), part
        page.screenshot(path=tmp_path / "phone.png")
