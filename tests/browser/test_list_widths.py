"""The main lists (incidents, the work queues, devices) fit a 1,440 px desktop in both languages:
no column is cut off behind the list's own scroll bar."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in
from tests.browser.test_lists_and_errors import set_language

pytestmark = pytest.mark.browser

# How far the list's table reaches beyond the box it scrolls in.
OVERFLOW = """() => {
    const table = document.querySelector('#result_list');
    return table.scrollWidth - table.parentElement.clientWidth;
}"""

LISTS = {
    "admin": ("/admin/incidents/incident/", "/admin/locations/device/"),
    # A supervisor's queues hold incidents waiting for them in the demo.
    "fae_lead": (
        "/admin/incidents/incident/?work=review",
        "/admin/incidents/incident/?work=unassigned",
    ),
}


class ListWidthTests:
    def test_the_main_lists_fit_a_desktop_in_english_and_chinese(
        self, page: Page, live_server_url: str, tmp_path
    ):
        base = live_server_url
        page.set_viewport_size({"width": 1440, "height": 900})
        for username, urls in LISTS.items():
            page.context.clear_cookies()
            log_in(page, base, username)
            for language in ("en", "zh-hans"):
                # Kept on the account, as the language menu does (it wins over a cookie).
                set_language(page, base, language)
                for url in urls:
                    page.goto(f"{base}{url}")
                    expect(page.locator("html")).to_have_attribute("lang", language)
                    expect(page.locator("#result_list tbody tr").first).to_be_visible()
                    overflow = page.evaluate(OVERFLOW)
                    if overflow > 0:
                        page.screenshot(path=tmp_path / f"{username}-{language}.png")
                    assert overflow <= 0, f"{url} in {language} is {overflow} px too wide"
            set_language(page, base, "en")
        # Each incident's step sits under its stage, in the stage's column.
        cell = page.locator("#result_list tbody td.field-stage_label").first
        expect(cell.locator(".adt-stage-step > span")).to_have_count(2)
