"""Every main page at a phone's width (390 px), in English and in Chinese, in Chromium: none
scrolls sideways, and none logs an error in the browser's console, picking and sending a
picture in the chat included (whose log still ends at the newest message once the thumbnail has
loaded). One server, one signed-in administrator, the pages in a loop."""

import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in
from tests.browser.test_lists_and_errors import set_language

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# Pages that fill parts in after they load (the chat's history, the dashboard's charts).
SETTLING = {"dashboard", "incident", "problem group (chat)"}

# What sticks out past the right edge of the screen without a box that scrolls it, to say which
# element made the page wider when it is.
OVERFLOWING = """() => {
    const width = document.documentElement.clientWidth;
    const scrolled = (element) => {
        let box = element.parentElement;
        for (; box && box !== document.body; box = box.parentElement) {
            if (getComputedStyle(box).overflowX !== "visible") return true;
        }
        return false;
    };
    return Array.from(document.querySelectorAll("body *"))
        .filter((element) => {
            const box = element.getBoundingClientRect();
            return box.width > 0 && box.right > width + 0.5 && !scrolled(element);
        })
        .slice(0, 5)
        .map((element) => `${element.tagName}.${String(element.className).slice(0, 60)}`);
}"""

AT_THE_BOTTOM = """() => {
    const log = document.querySelector("[data-testid=chat-log]");
    return log.scrollHeight - log.scrollTop - log.clientHeight < 2;
}"""


def first_link(page: Page, base: str, list_path: str, column: str) -> str:
    page.goto(f"{base}{list_path}")
    return base + page.locator(f"#result_list th.field-{column} a").first.get_attribute("href")


def main_pages(page: Page, base: str) -> dict[str, str]:
    """The pages people live in, by name (the first row of each list stands for its kind)."""
    return {
        "dashboard": f"{base}/admin/",
        "incident list": f"{base}/admin/incidents/incident/",
        "incident": first_link(
            page, base, "/admin/incidents/incident/?stage__exact=ee_analysis", "number"
        ),
        "queue: mine": f"{base}/admin/incidents/incident/?work=mine",
        "queue: review": f"{base}/admin/incidents/incident/?work=review",
        "queue: unassigned": f"{base}/admin/incidents/incident/?work=unassigned",
        "device list": f"{base}/admin/locations/device/",
        "device": first_link(page, base, "/admin/locations/device/", "serial_number"),
        "scan station": f"{base}/admin/locations/device/scan/",
        "problem group (chat)": first_link(page, base, "/admin/incidents/problemgroup/", "number"),
        "messages": f"{base}/admin/messaging/message/",
        "notifications": f"{base}/admin/incidents/notification/",
        "legacy import": f"{base}/admin/incidents/legacyimport/add/",
        "reports": f"{base}/admin/incidents/reportjob/",
    }


class PhoneWidthBrowserTests:
    def test_no_main_page_scrolls_sideways_or_logs_an_error_in_either_language(
        self, browser, live_server_url: str, tmp_path
    ):
        base = live_server_url
        context = browser.new_context(viewport=PHONE, locale="en-US")
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and errors.append(f"{page.url}: {m.text}"))
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        picture = tmp_path / "view.png"
        Image.new("RGB", (800, 600), "red").save(picture)
        log_in(page, base, "admin")
        pages = main_pages(page, base)
        wide: dict[str, object] = {}
        try:
            for language in ("en", "zh-hans"):
                set_language(page, base, language)
                for name, url in pages.items():
                    response = page.goto(url)
                    assert response.ok, f"{name}: {response.status}"
                    expect(page.locator("html")).to_have_attribute("lang", language)
                    if name in SETTLING:
                        page.wait_for_load_state("networkidle")
                    if name == "incident":
                        # Picking a file in the chat: Unfold's script finds where to write the
                        # name instead of failing.
                        expect(page.get_by_test_id("chat-status")).to_have_attribute(
                            "data-state", "online"
                        )
                        page.get_by_test_id("chat-files").set_input_files(picture)
                        expect(page.get_by_test_id("chat-staged")).to_contain_text("view.png")
                        # Sent, its thumbnail loads after the message is placed: the log still
                        # ends at the newest message.
                        page.get_by_test_id("chat-send").click()
                        thumbnail = page.get_by_test_id("chat-thumbnail").last
                        expect(thumbnail).to_have_js_property("complete", True)
                        page.wait_for_function(AT_THE_BOTTOM, timeout=5_000)
                    sizes = page.evaluate(
                        "() => [document.documentElement.scrollWidth,"
                        " document.documentElement.clientWidth]"
                    )
                    if sizes[0] > sizes[1]:
                        wide[f"{language} {name}"] = (sizes, page.evaluate(OVERFLOWING))
                        shot = re.sub(r"\W+", "-", f"{language}-{name}")
                        page.screenshot(path=tmp_path / f"{shot}.png")
        finally:
            set_language(page, base, "en")
            context.close()
        assert not wide, f"pages wider than a phone (scrollWidth, clientWidth): {wide}"
        assert not errors, errors
