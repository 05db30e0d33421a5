"""An incident's "Seen before" in Chromium on the demo: the past incidents with the same failure,
each with how it ended, and the open problem group its failure probably belongs to, which a
supervisor joins in one click."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in, open_incident_of

pytestmark = pytest.mark.browser

# An open incident in no group whose failure (MMI · GPS_CN0_LOW) an open incident of
# BUG-2025-0012 shares (fixtures/0005_incidents.json).
SERIAL, GROUP = "K758432552J0", "BUG-2025-0012"


class SeenBeforeBrowserTests:
    def test_a_supervisor_sees_what_was_seen_before_and_joins_the_suggested_group(
        self, page: Page, live_server_url: str
    ):
        log_in(page, live_server_url, "fae_lead")
        open_incident_of(page, live_server_url, SERIAL)

        panel = page.get_by_test_id("seen-before")
        expect(panel).to_be_visible()
        similar = panel.get_by_test_id("similar")
        expect(similar.first).to_contain_text("GPS_CN0_LOW")
        # The same failure at the same station comes first; every row says how it ended.
        expect(similar.first).to_contain_text("MMI")
        assert similar.count() >= 3
        for outcome in similar.get_by_test_id("similar-outcome").all():
            expect(outcome).to_have_text(
                re.compile("Returned to the line|Scrapped|No fault found|Cancelled|Still open")
            )
        suggestion = panel.get_by_test_id("group-suggestion")
        expect(suggestion).to_contain_text(f"open incident in {GROUP} shares MMI · GPS_CN0_LOW")
        panel.screenshot(path="/tmp/seen-before.png")

        with page.expect_navigation():
            suggestion.get_by_test_id("join-group").click()

        expect(page.locator("body")).to_contain_text(f"is now in problem group {GROUP}")
        expect(page.locator("select#id_problem_group option:checked")).to_contain_text(GROUP)
        expect(page.get_by_test_id("group-suggestion")).to_have_count(0)
