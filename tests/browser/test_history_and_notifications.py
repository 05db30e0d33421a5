"""What two pages show, as a person sees them in Chromium, in English and Chinese: the
notification list starts with its toolbar (no template comment printed above it), and an
incident's history says what changed in words, with empty values empty and local times."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in
from tests.browser.test_lists_and_errors import set_language

pytestmark = pytest.mark.browser

RAW_WORDS = re.compile(
    r"\b(reported|fae_retest|xray|ee_analysis|me_analysis|final_retest|unassigned|submitted)\b"
)


@pytest.fixture
def in_language(page: Page, live_server_url: str):
    """Sets the person's language as the language menu does (kept on the account, so a choice
    an earlier test made for the same person, which wins over a cookie, is replaced), and sets
    English back afterwards for the tests that follow."""
    chosen = []

    def choose(language: str) -> None:
        set_language(page, live_server_url, language)
        chosen.append(language)

    yield choose
    if chosen and chosen[-1] != "en":
        set_language(page, live_server_url, "en")


class PagesSayFactsTests:
    @pytest.mark.parametrize("language", ["en", "zh-hans"])
    def test_the_notification_list_starts_with_its_toolbar(
        self, page: Page, live_server_url: str, language: str, tmp_path, in_language
    ):
        log_in(page, live_server_url, "ee_lead")
        in_language(language)

        page.goto(f"{live_server_url}/admin/incidents/notification/")

        expect(page.get_by_test_id("notification-toolbar")).to_be_visible()
        text = page.locator("#content, main").first.inner_text()
        assert "{#" not in text and "#}" not in text
        assert "Above the notification list" not in text
        page.screenshot(path=tmp_path / f"notifications-{language}.png")

    @pytest.mark.parametrize("language", ["en", "zh-hans"])
    def test_an_incidents_history_says_what_changed_in_words(
        self, page: Page, live_server_url: str, language: str, tmp_path, in_language
    ):
        log_in(page, live_server_url, "fae_lead")
        in_language(language)
        page.goto(f"{live_server_url}/admin/incidents/incident/?stage__exact=xray")
        link = page.locator("#result_list tbody tr a[href*='/change/']").first
        incident_id = re.search(r"/incident/(\d+)/change/", link.get_attribute("href"))[1]

        page.goto(f"{live_server_url}/admin/incidents/incident/{incident_id}/history/")

        history = page.locator("#change-history")
        expect(history).to_be_visible()
        text = history.inner_text()
        assert "pk=None" not in text
        assert not RAW_WORDS.search(text), RAW_WORDS.search(text)
        assert "+00:00" not in text and not re.search(r"\d:\d\d\.\d", text)
        expect(history).to_contain_text("X光检测" if language == "zh-hans" else "X-ray inspection")
        page.screenshot(path=tmp_path / f"history-{language}.png", full_page=True)
