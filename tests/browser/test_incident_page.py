"""The incident page as people work on it, in Chromium: laid out in the order of the work (the
summary, the records of the stage at work with their pictures as thumbnails, the chat beside
the timeline, the form and the picture of the workflow folded), far shorter than it was on a
desktop and on a phone; and a review form that stays true when someone else decides first."""

import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in
from tests.browser.test_lists_and_errors import set_language

pytestmark = pytest.mark.browser

LIVE = 15_000  # ms: what one person does reaches the other's open page within this
# The page was 3.4 to 3.8k px tall on a desktop, 4.5 to 4.9k px on a phone (a typical incident).
DESKTOP_HEIGHT_BELOW = 2_600
PHONE_HEIGHT_BELOW = 3_800


def page_height(page: Page, width: int) -> int:
    page.set_viewport_size({"width": width, "height": 900})
    page.wait_for_timeout(200)  # the layout of the new width
    return page.evaluate("document.documentElement.scrollHeight")


class IncidentPageBrowserTests:
    def test_an_engineer_adds_a_photo_and_the_page_reads_in_the_order_of_the_work(
        self, page: Page, live_server_url: str, tmp_path
    ):
        base = live_server_url
        log_in(page, base, "ee_1")
        set_language(page, base, "en")
        page.goto(f"{base}/admin/incidents/incident/?work=mine")
        page.locator("#result_list th.field-number a").first.click()
        incident_url = page.url.split("?")[0]

        photo = tmp_path / "rf-shield.png"
        Image.new("RGB", (1200, 800), (40, 90, 160)).save(photo)
        log = tmp_path / "rssi.log"
        log.write_text("BT_RSSI -92 dBm FAIL\n")
        page.locator("a[href*='/record/']").first.click()
        page.fill("input[name=action]", "Shield can reworked")
        page.set_input_files("input[name=files]", [photo, log])
        page.get_by_role("button", name="Add operation record").click()
        expect(page).to_have_url(re.compile(r"/change/"))

        # The stage at work is open with its records; a photo shows as a thumbnail that opens
        # full size, its original a download; a log stays a file chip.
        records = page.get_by_test_id("records")
        current = records.locator("details[open]")
        expect(current).to_have_count(1)
        expect(current).to_have_attribute("data-stage", "ee_analysis")
        expect(current).to_contain_text("Shield can reworked")
        thumbnail = current.get_by_test_id("attachment-thumbnail")
        expect(thumbnail).to_have_count(1)
        thumbnail.scroll_into_view_if_needed()
        expect(thumbnail).to_have_js_property("complete", True)
        assert thumbnail.evaluate("img => img.naturalWidth") == 1200
        box = thumbnail.bounding_box()
        assert box["width"] <= 200 and box["height"] <= 200, box
        full_size = current.get_by_test_id("attachment-picture").get_attribute("href")
        assert full_size.endswith("?preview=1")
        opened = page.request.get(base + full_size)
        assert opened.ok and opened.headers["content-type"] == "image/png"
        expect(current.get_by_test_id("attachment-original")).to_have_attribute(
            "download", "rf-shield.png"
        )
        expect(current.get_by_test_id("attachment").filter(has_text="rssi.log")).to_have_count(1)
        # Earlier stages are folded.
        expect(records.locator("details:not([open])").first).to_be_attached()

        # The form holds no copy of the summary and no "Save and add another".
        expect(page.locator("#incident_form .field-current_stage")).to_have_count(0)
        expect(page.locator("[name=_addanother]")).to_have_count(0)

        # The chat beside the timeline on a wide screen; the workflow picture on demand.
        page.set_viewport_size({"width": 1440, "height": 900})
        chat = page.get_by_test_id("chat").bounding_box()
        side = page.get_by_test_id("discussion-side").bounding_box()
        assert side["x"] >= chat["x"] + chat["width"], (chat, side)
        assert abs(side["y"] - chat["y"]) < 60, (chat, side)
        picture = page.get_by_test_id("workflow-picture")
        expect(picture.get_by_test_id("workflow-graph")).to_be_hidden()
        picture.locator("summary").click()
        expect(picture.get_by_test_id("workflow-graph")).to_be_visible()
        expect(picture.locator("[data-stage=ee_analysis]")).to_have_attribute(
            "data-state", "current"
        )
        picture.locator("summary").click()

        page.goto(incident_url)
        expect(page.get_by_test_id("chat-status")).to_have_attribute("data-state", "online")
        desktop = page_height(page, 1440)
        page.screenshot(path=tmp_path / "incident-1440.png", full_page=True)
        phone = page_height(page, 390)
        page.screenshot(path=tmp_path / "incident-390.png", full_page=True)
        # On a phone the timeline comes after the chat.
        chat = page.get_by_test_id("chat").bounding_box()
        side = page.get_by_test_id("discussion-side").bounding_box()
        assert side["y"] >= chat["y"] + chat["height"], (chat, side)
        assert desktop < DESKTOP_HEIGHT_BELOW, desktop
        assert phone < PHONE_HEIGHT_BELOW, phone

    def test_an_approve_form_left_open_says_why_once_someone_else_sent_the_incident_back(
        self, browser, live_server_url: str
    ):
        base = live_server_url
        supervisor = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        other = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        try:
            log_in(supervisor, base, "fae_lead")
            set_language(supervisor, base, "en")
            supervisor.goto(f"{base}/admin/incidents/incident/?work=review")
            supervisor.locator("#result_list th.field-number a").last.click()
            incident_url = supervisor.url.split("?")[0]
            supervisor.locator("a[href*='/approve/']").first.click()
            form = supervisor.get_by_test_id("workflow-form")
            expect(form.locator("button[name=_workflow]")).to_be_enabled()
            supervisor.wait_for_load_state("networkidle")  # its socket is open
            supervisor.evaluate("window.notReloaded = true")

            log_in(other, base, "admin")
            other.goto(incident_url.replace("/change/", "/reject/"))
            other.fill("textarea[name=reason]", "Retest with the golden unit first")
            other.locator("button[name=_workflow]").click()
            expect(other).to_have_url(re.compile(r"/change/"))

            refused = form.get_by_test_id("workflow-refused")
            expect(refused).to_be_visible(timeout=LIVE)
            expect(refused).to_contain_text("Approve is not possible")
            expect(refused).to_contain_text("is not waiting for review")
            expect(form.locator("button[name=_workflow]")).to_have_count(0)
            expect(form).to_contain_text("In progress")
            assert supervisor.evaluate("window.notReloaded") is True
        finally:
            supervisor.context.close()
            other.context.close()
