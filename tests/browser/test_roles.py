"""Roles in words, in Chromium on the demo: the administrator reads the role matrix, creates a
"Line leader" role by ticking capabilities, gives it to a person instead of Staff, and that
person's sidebar and buttons change; ticking one more capability later brings its buttons."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_admin import log_in

pytestmark = pytest.mark.browser

PERSON = "prod_2"


def sidebar_links(page: Page) -> set[str]:
    """Where the sidebar's links lead."""
    return set(
        page.locator("#nav-sidebar a[href^='/admin/']").evaluate_all(
            "l => l.map(a => a.getAttribute('href'))"
        )
    )


def move_role(page: Page, name: str, *, direction: str) -> None:
    """Move a role between the two boxes of the person's roles ("add" or "remove")."""
    source = "#id_groups_from" if direction == "add" else "#id_groups_to"
    page.select_option(source, label=name)
    page.locator(f"#id_groups_{direction}").click()


class RolesBrowserTests:
    def test_an_administrator_makes_a_line_leader_and_the_persons_screens_follow(
        self, page: Page, browser: Browser, live_server_url: str, tmp_path
    ):
        # The person as staff first: problem groups and departments in the sidebar.
        person = browser.new_page(locale="en-US", viewport={"width": 1400, "height": 900})
        log_in(person, live_server_url, PERSON)
        before = sidebar_links(person)
        assert "/admin/incidents/problemgroup/" in before
        assert "/admin/incidents/department/" in before

        # The role list and the matrix, in words.
        log_in(page, live_server_url, "admin")
        page.goto(f"{live_server_url}/admin/auth/group/")
        expect(page.locator("#result_list")).to_contain_text("Read everything")
        page.screenshot(path=tmp_path / "roles.png", full_page=True)
        page.get_by_role("link", name=re.compile("Role matrix")).click()
        matrix = page.get_by_test_id("role-matrix")
        expect(matrix).to_contain_text("Manage people and roles")
        expect(matrix.locator('td[data-role="admin"][data-holding="all"]')).to_have_count(11)
        page.screenshot(path=tmp_path / "role-matrix.png", full_page=True)

        # A new role from two capabilities; the permission list stays folded.
        page.goto(f"{live_server_url}/admin/auth/group/add/")
        page.get_by_label("Name").fill("Line leader")
        expect(page.locator("select#id_permissions_from, select#id_permissions")).to_be_hidden()
        page.get_by_label("Open incidents").check()
        page.get_by_label("Move devices").check()
        page.screenshot(path=tmp_path / "role-add.png", full_page=True)
        page.get_by_role("button", name=re.compile("Save and continue editing")).click()
        expect(page.locator("body")).to_contain_text("was added successfully")
        capabilities = page.get_by_test_id("capabilities")
        expect(page.get_by_label("Open incidents")).to_be_checked()
        expect(page.get_by_label("Move devices")).to_be_checked()
        expect(page.get_by_label("Print labels")).to_be_checked()  # comes with moving devices
        expect(page.get_by_label("Read everything")).not_to_be_checked()
        expect(capabilities).to_contain_text("Also comes with: Read everything, Move devices.")
        page.screenshot(path=tmp_path / "role-line-leader.png", full_page=True)
        # The permissions behind them, one click away.
        page.get_by_text("Permissions, for experts").click()
        expect(page.locator("#id_permissions_to")).to_be_visible()
        expect(page.locator("#id_permissions_to")).to_contain_text("Can move devices")

        # Given to the person instead of Staff.
        page.goto(f"{live_server_url}/admin/incidents/employee/?q={PERSON}")
        page.locator("#result_list a", has_text=re.compile(r"\d")).first.click()
        move_role(page, "staff", direction="remove")
        move_role(page, "Line leader", direction="add")
        page.get_by_role("button", name=re.compile("^Save$")).first.click()
        expect(page.locator("body")).to_contain_text("was changed successfully")

        # The person's screens: the scan station and incidents stay, problem groups and
        # departments go; a device is read, moved, but not imported.
        person.goto(f"{live_server_url}/admin/")
        after = sidebar_links(person)
        assert "/admin/locations/device/scan/" in after
        assert "/admin/incidents/incident/" in after
        assert "/admin/incidents/problemgroup/" not in after
        assert "/admin/incidents/department/" not in after
        person.screenshot(path=tmp_path / "line-leader-home.png", full_page=True)
        person.goto(f"{live_server_url}/admin/locations/device/")
        expect(
            person.get_by_role("link", name=re.compile(r"^\s*(\S+\s+)?Import\s*$"))
        ).to_have_count(0)
        person.screenshot(path=tmp_path / "line-leader-devices.png", full_page=True)

        # One more capability, and its buttons appear for the person.
        page.goto(f"{live_server_url}/admin/auth/group/?q=Line")
        page.locator("#result_list a", has_text="Line leader").first.click()
        page.get_by_label("Import and export lists").check()
        page.get_by_role("button", name=re.compile("^Save$")).first.click()
        expect(page.locator("#result_list")).to_contain_text("Import and export lists")
        page.screenshot(path=tmp_path / "roles-after.png", full_page=True)

        person.reload()
        expect(
            person.get_by_role("link", name=re.compile(r"^\s*(\S+\s+)?Import\s*$"))
        ).to_have_count(1)
        person.screenshot(path=tmp_path / "line-leader-devices-import.png", full_page=True)
        person.close()
