"""A confidential project in Chromium on the demo: an administrator restricts a project to the
X-ray lab; an FAE supervisor then finds none of its incidents or devices and cannot filter the
dashboard by it, while an X-ray supervisor still finds them. The restriction is lifted at the
end, as the administrator would, so the demo stays as the other browser tests expect it."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_admin import log_in

pytestmark = pytest.mark.browser

PROJECT = "Heron"


def found(page: Page, base: str, path: str, term: str) -> int:
    """How many rows the list at `path` finds for `term`."""
    page.goto(f"{base}{path}?q={term}")
    expect(page.locator("#changelist, #content-main").first).to_be_visible()
    return page.locator("#result_list tbody tr").count()


def test_an_administrator_restricts_a_project_and_outsiders_find_nothing_of_it(
    page: Page, browser: Browser, live_server_url: str, tmp_path
):
    base = live_server_url
    outsider = browser.new_page(locale="en-US", viewport={"width": 1400, "height": 900})
    insider = browser.new_page(locale="en-US", viewport={"width": 1400, "height": 900})
    log_in(outsider, base, "fae_lead")
    log_in(insider, base, "xray_lead")
    assert found(outsider, base, "/admin/incidents/incident/", PROJECT) > 0

    log_in(page, base, "admin")
    page.goto(f"{base}/admin/incidents/projectaccess/add/")
    page.get_by_label("Project").fill(PROJECT.lower())
    page.locator("#id_note").fill("Customer contract")
    # The X-ray lab sees it: picked in the departments' box by typing its name.
    page.locator(".field-departments .select2-selection").click()
    page.keyboard.type("X-ray")
    page.locator(".select2-results__option", has_text=re.compile("X-ray")).first.click()
    page.get_by_role("button", name=re.compile("Save and continue editing")).click()
    expect(page.locator("body")).to_contain_text("was added successfully")
    try:
        # What it covers, and the stages whose owners would no longer see its incidents.
        expect(page.locator("body")).to_contain_text(re.compile(r"\d+ devices, \d+ incidents"))
        expect(page.locator("body")).to_contain_text("FAE retest — FAE")
        page.screenshot(path=tmp_path / "restricted-project.png", full_page=True)
        assert found(outsider, base, "/admin/incidents/incident/", PROJECT) == 0
        assert found(outsider, base, "/admin/locations/device/", PROJECT) == 0
        outsider.goto(f"{base}/admin/")
        projects = outsider.locator("select[name=project] option").all_inner_texts()
        assert PROJECT not in projects
        outsider.screenshot(path=tmp_path / "outsider-dashboard.png", full_page=True)

        assert found(insider, base, "/admin/incidents/incident/", PROJECT) > 0
        assert found(insider, base, "/admin/locations/device/", PROJECT) > 0
    finally:
        page.get_by_role("link", name=re.compile("Delete")).click()
        page.get_by_role("button", name=re.compile("Yes, I.m sure")).click()
        expect(page.locator("body")).to_contain_text("was deleted successfully")

    assert found(outsider, base, "/admin/incidents/incident/", PROJECT) > 0
