"""A confidential project in Chromium on the demo: an administrator restricts a project to every
department but FAE, and to the two FAE engineers working on it; the page first says that the
FAE supervisor loses sight of the incidents in FAE's stages, and restricts it once confirmed.
The FAE supervisor then finds none of its incidents or devices and cannot filter the dashboard
by it, while an X-ray supervisor still finds them. The restriction is lifted at the end, as the
administrator would, and nobody's assignment was handed over, so the demo stays as the other
browser tests expect it."""

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


def choose(page: Page, field: str, typed: str, option: str) -> None:
    """Pick an option of an autocomplete box by typing, as a person does."""
    chosen = page.locator(f".field-{field} .select2-selection__choice")
    before = chosen.count()
    page.locator(f".field-{field} .select2-search__field").click()
    page.keyboard.type(typed)
    # Once the search answered: the one option it found, not the list from before typing.
    results = page.locator(".select2-results__option")
    expect(results.filter(has_text=re.compile(option))).to_be_visible()
    expect(results).to_have_count(1)
    results.first.click()
    expect(chosen).to_have_count(before + 1)
    page.keyboard.press("Escape")


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
    # The other departments see it, and the two FAE engineers working on it: each picked in
    # its box by typing.
    for typed, option in (
        ("X-ray", r"X-ray"),
        ("Production", r"Production"),
        ("EE", r"^EE$"),
        ("ME", r"^ME$"),
    ):
        choose(page, "departments", typed, option)
    for number in ("10005", "10006"):
        choose(page, "people", number, number)
    page.get_by_role("button", name=re.compile("Save and continue editing")).click()
    # It takes the incidents of FAE's stages from FAE's supervisor: first the page says so,
    # and nothing is restricted until that is confirmed.
    confirmation = page.get_by_test_id("restriction-confirmation")
    expect(confirmation).to_contain_text(f"Open incidents of project {PROJECT.lower()}")
    page.screenshot(path=tmp_path / "restriction-confirmation.png", full_page=True)
    people = confirmation.get_by_test_id("restriction-person")
    expect(people).to_have_count(1)
    expect(people).to_contain_text("Wu Na")
    expect(people).to_contain_text(re.compile(r"\d+ incidents? in stages? of FAE"))
    expect(confirmation.get_by_test_id("restriction-handed-back")).to_have_count(0)
    assert found(outsider, base, "/admin/incidents/incident/", PROJECT) > 0
    page.get_by_role("button", name="Yes, restrict the project").click()
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
