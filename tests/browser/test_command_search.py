"""Ctrl+K in Chromium: `#<number>` and Enter, pressed before any result shows, opens that
incident; a serial number shows where the device is with its open incident and stage, and Enter
opens it; a fail item lists what the incident list's search lists; the same in Chinese, where a
person is found by name and a search finding nothing says so."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in
from tests.browser.test_lists_and_errors import set_language

pytestmark = pytest.mark.browser

RESULTS = "#command-results-list li"


def open_palette(page: Page, term: str) -> None:
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+k")
    expect(page.locator("#search-input-command")).to_be_focused()
    page.keyboard.type(term)


class CommandSearchBrowserTests:
    def test_ctrl_k_finds_incidents_and_devices_and_enter_opens_the_first(
        self, page: Page, live_server_url: str, tmp_path
    ):
        base = live_server_url
        log_in(page, base, "fae_lead")

        # What the incident list finds for a fail item, and one incident with its device.
        page.goto(f"{base}/admin/incidents/incident/?q=CAM_AF")
        listed = {
            link.inner_text().strip().lstrip("#")
            for link in page.locator("#result_list th.field-number a").all()
        }
        assert 0 < len(listed) <= 10
        number = sorted(listed, key=int)[0]
        page.goto(f"{base}/admin/incidents/incident/{number}/change/")
        serial = page.get_by_test_id("summary-device").inner_text().split()[0]

        # `#number` then Enter at once, before the palette has answered: the incident opens.
        page.goto(f"{base}/admin/")
        open_palette(page, f"#{number}")
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(rf"/admin/incidents/incident/{number}/change/"))

        # A serial: the device first, with its open incident and stage; Enter opens it.
        open_palette(page, serial)
        first = page.locator(RESULTS).first
        expect(first).to_contain_text(serial)
        expect(first).to_contain_text(f"open incident #{number}")
        expect(first).to_have_class(re.compile(r"\bactive\b"))
        expect(page.locator(RESULTS)).to_contain_text([f"Incident #{number}"])
        page.screenshot(path=tmp_path / "command-search-serial.png")
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/admin/locations/device/\d+/change/"))

        # A fail item: the incidents the list's own search finds.
        open_palette(page, "CAM_AF")
        expect(page.locator(RESULTS).first).to_contain_text("Incident #")
        found = {
            re.search(r"Incident #(\d+)", text)[1]
            for text in page.locator(RESULTS).all_inner_texts()
            if "Incident #" in text
        }
        assert found == listed
        page.screenshot(path=tmp_path / "command-search-fail-item.png")

        # The same in Chinese (another term: Unfold keeps a person's answer to a term a while,
        # whatever the language).
        page.keyboard.press("Escape")
        # Kept on the account, as the language menu does (it wins over a cookie).
        set_language(page, base, "zh-hans")
        page.goto(f"{base}/admin/")
        open_palette(page, serial[1:])
        expect(page.locator(RESULTS).first).to_contain_text(f"#{number}")
        page.screenshot(path=tmp_path / "command-search-zh.png")

        # A person by name, typed without keys (an input method): found, described in Chinese
        # only; a name nobody has: the palette says nothing matches instead of an empty box.
        page.keyboard.press("Escape")
        page.keyboard.press("Escape")
        open_palette(page, "赵强")
        person = page.locator(RESULTS, has_text="(10005)")
        expect(person).to_contain_text("员工")
        expect(page.locator("#command-results")).not_to_contain_text("Incidents -")
        page.keyboard.press("Escape")
        page.keyboard.press("Escape")
        open_palette(page, "赵无此人")
        expect(page.get_by_test_id("command-no-results")).to_be_visible()
        expect(page.locator(RESULTS)).to_have_count(0)
        page.screenshot(path=tmp_path / "command-search-nothing.png")
        set_language(page, base, "en")
