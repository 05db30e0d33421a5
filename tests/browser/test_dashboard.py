"""A manager opens the dashboard: its charts render without errors, it is connected live, a
project filter narrows it, and a number's link opens the list of exactly those incidents."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in

pytestmark = pytest.mark.browser


def test_the_dashboard_renders_filters_and_leads_to_what_it_counts(
    page: Page, live_server_url: str, tmp_path
):
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server_url, "fae_lead")

    dashboard = page.get_by_test_id("dashboard")
    expect(dashboard.locator("canvas.chart")).to_have_count(6)
    # Connected to the server's dashboard socket: it counts again when incidents move.
    expect(page.get_by_test_id("dashboard-live")).to_be_visible()
    expect(page.get_by_test_id("dashboard-pareto")).to_contain_text("%")
    page.screenshot(path=tmp_path / "dashboard.png")
    assert (tmp_path / "dashboard.png").stat().st_size > 20_000

    # Narrow to one project.
    projects = page.locator("select[name=project] option")
    project = projects.nth(1).get_attribute("value")
    page.select_option("select[name=project]", project)
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(rf"project={re.escape(project)}"))
    expect(page.locator("select[name=project]")).to_have_value(project)

    # A stage's number opens the list of exactly those incidents.
    figure = (
        page.locator("[data-figure^='open-'][data-figure$='-unassigned']")
        .filter(has_not_text=re.compile(r"^0$"))
        .first
    )
    shown = int(figure.inner_text())
    figure.click()
    expect(page.get_by_test_id("dashboard-filter")).to_contain_text(project)
    expect(page.locator("#result_list tbody tr")).to_have_count(shown)
    assert errors == []
