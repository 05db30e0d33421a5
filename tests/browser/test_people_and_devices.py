"""What people may see and do with colleagues and devices, in Chromium on the demo: staff read
colleagues as on a badge (no logins, no last logins, no export), read a device without editing
it and move it with the Move form and a reason; the new-incident form flags a device that has an
open incident as soon as it is picked and starts a new device where the reporter's department
works; the assign form shows each candidate's open workload."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in

pytestmark = pytest.mark.browser

# A demo device with an open incident (fixtures/0005_incidents.json).
BUSY_SERIAL = "H296673755H0"


def pick(page: Page, field: str, text: str) -> None:
    """Choose `text` in the select2 box of the form field `field`, as a person types it."""
    page.locator(f"#id_{field} + .select2 .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill(text)
    option = page.locator(".select2-results__option", has_text=text).first
    expect(option).to_be_visible()
    option.click()


def in_chinese(page: Page, base_url: str, path: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": base_url}])
    page.goto(f"{base_url}{path}")


def in_english(page: Page, base_url: str) -> None:
    page.context.clear_cookies(name="django_language")


class PeopleAndDevicesBrowserTests:
    def test_staff_read_colleagues_and_devices_and_move_a_device_with_a_reason(
        self, page: Page, live_server_url: str, tmp_path
    ):
        log_in(page, live_server_url, "fae_1")

        # Colleagues: number, name, department; no logins, last logins or export.
        page.goto(f"{live_server_url}/admin/incidents/employee/")
        headers = page.locator("#result_list thead").inner_text()
        assert re.search("Employee number", headers, re.I)
        assert re.search("Department", headers, re.I)
        assert not re.search("Username|Last login|Roles", headers, re.I)
        expect(page.get_by_role("link", name=re.compile("^Export$"))).to_have_count(0)
        expect(page.locator("#result_list")).to_contain_text("Wu Na")
        expect(page.locator("#result_list")).not_to_contain_text("fae_lead")
        page.screenshot(path=tmp_path / "employees.png")
        page.locator("#result_list a", has_text="Wu Na").first.click()
        content = page.locator("#content")
        expect(content).to_contain_text("10004")
        expect(content).not_to_contain_text("fae_lead")
        expect(page.locator("input[name=display_name]")).to_have_count(0)
        page.screenshot(path=tmp_path / "employee.png")
        in_chinese(page, live_server_url, "/admin/incidents/employee/")
        page.screenshot(path=tmp_path / "employees-zh.png")
        in_english(page, live_server_url)

        # A device: read-only for staff, with a Move button whose form keeps a reason.
        page.goto(f"{live_server_url}/admin/locations/device/?q={BUSY_SERIAL}")
        page.locator("#result_list a", has_text=BUSY_SERIAL).first.click()
        device_url = page.url
        expect(page.locator("input[name=serial_number]")).to_have_count(0)
        expect(page.locator("select[name=location]")).to_have_count(0)
        page.screenshot(path=tmp_path / "device.png")
        page.get_by_role("link", name=re.compile("^\\s*(swap_horiz)?\\s*Move\\s*$")).click()
        expect(page.get_by_test_id("move-form")).to_be_visible()
        page.screenshot(path=tmp_path / "move-form.png")
        page.get_by_role("button", name="Move").click()
        expect(page.locator(".errornote, .errorlist").first).to_be_visible()
        pick(page, "location", "WH-B2-05")
        page.get_by_label("Reason for the move").fill("Back to the shelf after retest")
        page.get_by_role("button", name="Move").click()
        expect(page).to_have_url(re.compile(re.escape(device_url.split("?")[0])))
        expect(page.locator("body")).to_contain_text(f"{BUSY_SERIAL} is now at WH-B2-05")
        latest = page.get_by_test_id("device-trail").get_by_test_id("trail-entry").first
        expect(latest).to_contain_text("WH-B2-05")
        expect(latest).to_contain_text("Back to the shelf after retest")
        expect(latest).to_contain_text("Zhao Qiang")
        page.screenshot(path=tmp_path / "device-moved.png")
        move_path = (
            device_url.removeprefix(live_server_url).split("?")[0].replace("change/", "move/")
        )
        in_chinese(page, live_server_url, move_path)
        expect(page.get_by_test_id("move-form")).to_be_visible()
        page.screenshot(path=tmp_path / "move-form-zh.png")
        in_english(page, live_server_url)

        # A new incident: the busy device is flagged as soon as it is picked, with a link; a new
        # serial number starts where FAE works (its retest stage's work location).
        page.goto(f"{live_server_url}/admin/incidents/incident/add/")
        expect(page.locator("#id_location + .select2")).to_contain_text("FAE-LAB")
        pick(page, "device", BUSY_SERIAL)
        hint = page.get_by_test_id("device-open-incident")
        expect(hint).to_be_visible()
        expect(hint).to_contain_text(f"Device {BUSY_SERIAL} already has an open incident")
        link = page.get_by_test_id("device-open-incident-link")
        expect(link).to_have_attribute("href", re.compile(r"/admin/incidents/incident/\d+/change/"))
        page.screenshot(path=tmp_path / "incident-add.png")
        link.click()
        expect(page.locator("#content")).to_contain_text(BUSY_SERIAL)
        in_chinese(page, live_server_url, "/admin/incidents/incident/add/")
        pick(page, "device", BUSY_SERIAL)
        expect(page.get_by_test_id("device-open-incident")).to_contain_text("#")
        page.screenshot(path=tmp_path / "incident-add-zh.png")
        in_english(page, live_server_url)

    def test_the_assign_form_shows_each_candidates_open_workload(
        self, page: Page, live_server_url: str, tmp_path
    ):
        log_in(page, live_server_url, "fae_lead")
        page.goto(f"{live_server_url}/admin/incidents/incident/?work=unassigned")
        incident = page.locator("#result_list a[href*='/change/']").first.get_attribute("href")
        page.goto(f"{live_server_url}{incident.split('?')[0].replace('change/', 'assign/')}")
        options = page.locator("select[name=assignee] option")
        labels = [text.strip() for text in options.all_inner_texts() if text.strip("- ")]
        assert labels, "no candidates offered"
        assert all(re.search(r"· \d+ open incidents?$", label) for label in labels), labels
        assert any("Zhao Qiang" in label for label in labels)
        page.screenshot(path=tmp_path / "assign.png")
        in_chinese(page, live_server_url, page.url.removeprefix(live_server_url))
        page.screenshot(path=tmp_path / "assign-zh.png")


class ListFilterBrowserTests:
    def test_a_typed_filter_applies_with_the_panels_button(self, page: Page, live_server_url: str):
        log_in(page, live_server_url, "fae_lead")

        page.goto(f"{live_server_url}/admin/locations/location/")
        self._choose(page, "LAB · ")
        expect(page).to_have_url(re.compile(r"parent__id__exact=\d+"))
        codes = page.locator("#result_list tbody tr .field-code").all_inner_texts()
        assert sorted(code.strip() for code in codes) == ["EE-LAB", "FAE-LAB", "ME-LAB", "XRAY-LAB"]

        page.goto(f"{live_server_url}/admin/locations/device/")
        self._choose(page, "FAE-LAB")
        expect(page).to_have_url(re.compile(r"location__id__exact=\d+"))
        places = page.locator("#result_list tbody tr .field-location").all_inner_texts()
        assert places and all("FAE-LAB" in place for place in places)

    def _choose(self, page: Page, text: str) -> None:
        """Open the filter panel, type `text` into its first typed filter, pick the match
        starting with it and apply."""
        page.locator("a:has-text('Filters'), button:has-text('Filters')").first.click()
        page.locator("#filter-form .select2-selection").first.click()
        page.locator(".select2-container--open .select2-search__field").fill(text.split(" ")[0])
        starting = re.compile("^" + re.escape(text))
        page.locator(".select2-results__option", has_text=starting).first.click()
        # The filtered list loads before its rows are read.
        with page.expect_navigation():
            page.get_by_role("button", name="Apply Filters").click()
