"""The lists, the exports and the error pages as people meet them in Chromium: an administrator
working in Chinese (a light list of 50 rows with a choice, a row menu driven by the keyboard, an
export that is what its page promised and re-imports, a stale link inside the product), and an
engineer meeting a refusal and dropping several files on a record."""

import io
import re

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin import log_in

pytestmark = pytest.mark.browser


def set_language(page: Page, base_url: str, language: str) -> None:
    """What the language menu does: the choice is kept on the account."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{base_url}/i18n/setlang/",
        form={"language": language, "next": "/admin/"},
        headers={"X-CSRFToken": token, "Referer": f"{base_url}/admin/"},
    )
    assert response.ok


class ListsAndExportsTests:
    def test_an_administrator_lists_exports_and_re_imports_in_chinese(
        self, page: Page, live_server_url: str, tmp_path
    ):
        base = live_server_url
        log_in(page, base, "admin")
        set_language(page, base, "zh-hans")
        try:
            self._lists(page, base, tmp_path)
            self._export_and_re_import(page, base, tmp_path)
            self._stale_link(page, base, tmp_path)
        finally:
            set_language(page, base, "en")

    def _lists(self, page: Page, base: str, shots) -> None:
        page.goto(f"{base}/admin/incidents/incident/")
        rows = page.locator("#result_list tr.data-row")
        # 50 rows by default, with a choice; rows carry no copy of the menu.
        expect(rows).to_have_count(50)
        sizes = page.get_by_test_id("page-sizes")
        expect(sizes).to_contain_text("每页行数")
        expect(sizes.locator("[aria-current]")).to_have_text("50")
        assert page.locator("#result_list [role=menu]").count() == 0
        page.screenshot(path=shots / "incidents-zh.png")

        # The row menu by keyboard: the button opens it, focus goes in, Escape gives it back.
        button = rows.first.locator("[data-row-actions]")
        box = button.bounding_box()
        assert box and box["x"] + box["width"] <= 1400, "the row menu sits inside the screen"
        button.focus()
        page.keyboard.press("Enter")
        menu = page.locator("body > nav.adt-list-menu")
        expect(menu).to_be_visible()
        expect(button).to_have_attribute("aria-expanded", "true")
        expect(page.locator("nav.adt-list-menu [role=menuitem]:focus")).to_have_count(1)
        # An action the row refuses says why, in Chinese, instead of failing after a click.
        expect(menu).to_contain_text("指派")
        page.keyboard.press("End")
        expect(menu).to_be_visible()
        page.screenshot(path=shots / "row-menu-zh.png")
        page.keyboard.press("Escape")
        expect(menu).to_have_count(0)
        expect(button).to_be_focused()
        # A click elsewhere closes it too.
        button.click()
        expect(menu).to_be_visible()
        page.get_by_test_id("page-sizes").click()
        expect(menu).to_have_count(0)

        sizes.get_by_role("link", name="25", exact=True).click()
        expect(rows).to_have_count(25)
        # The choice is kept for this list.
        page.goto(f"{base}/admin/incidents/incident/")
        expect(rows).to_have_count(25)
        page.get_by_test_id("page-sizes").get_by_role("link", name="50", exact=True).click()
        expect(rows).to_have_count(50)

    def _export_and_re_import(self, page: Page, base: str, shots) -> None:
        page.goto(f"{base}/admin/incidents/incident/export/")
        promised = page.locator("code").first.inner_text()
        columns = [name.strip() for name in re.split(r"[,，]", promised)]
        assert columns[:3] == ["异常编号", "设备SN", "专案"]
        for weekly in ("当前节点", "步骤", "负责人", "在节点天数", "问题编号", "关闭时间"):
            assert weekly in columns
        page.select_option("select[name=format]", label="xlsx")
        with page.expect_download() as download:
            page.locator("#content button[type=submit], main button[type=submit]").last.click()
        path = shots / "incidents.xlsx"
        download.value.save_as(path)

        book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
        sheet = book.active
        assert sheet.title == "异常事件"
        assert [cell.value for cell in sheet[1]] == columns
        rows = [
            dict(zip(columns, row, strict=True)) for row in sheet.iter_rows(2, values_only=True)
        ]
        assert len(rows) > 50  # every incident, not one page of the list
        assert {"FAE复测", "X光检测", "已回产线"} <= {row["当前节点"] for row in rows}
        assert {"处理中", "已关闭"} <= {row["步骤"] for row in rows}
        assert all(row["登记时间"].year > 2000 for row in rows)  # real dates

        # The same file goes back in through the drop zone and changes nothing.
        page.goto(f"{base}/admin/incidents/incident/import/")
        expect(page.locator(".adt-drop-zone")).to_contain_text("选择文件")
        page.set_input_files("input[name=import_file]", path)
        expect(page.get_by_test_id("chosen-files")).to_contain_text("incidents.xlsx")
        page.select_option("select[name=format]", label="xlsx")
        page.locator("#content button[type=submit], main button[type=submit]").last.click()
        preview = page.locator("table.import-preview-table")
        expect(preview).to_contain_text("FAE复测")
        expect(preview).not_to_contain_text("fae_retest")
        page.screenshot(path=shots / "import-preview-zh.png")
        page.get_by_role("button", name="确认导入").click()
        expect(page.locator("#result_list")).to_be_visible()
        expect(page.locator("body")).to_contain_text("忽略")

    def _stale_link(self, page: Page, base: str, shots) -> None:
        page.goto(f"{base}/admin/incidents/incident/")
        response = page.goto(f"{base}/admin/incidents/incident/999999/assign/")
        assert response is not None and response.status == 404
        error = page.get_by_test_id("error-page")
        expect(error.get_by_role("heading")).to_have_text("页面不存在")
        expect(page.locator("#nav-sidebar")).to_be_visible()
        icon = page.locator("link[rel=icon]").first.get_attribute("href")
        assert page.request.get(f"{base}{icon}").ok
        page.screenshot(path=shots / "not-found-zh.png")
        error.get_by_role("button", name="返回").click()
        expect(page).to_have_url(f"{base}/admin/incidents/incident/")


class RefusalAndFilesTests:
    def test_an_engineer_meets_a_refusal_and_drops_several_files_on_a_record(
        self, page: Page, live_server_url: str, tmp_path
    ):
        base = live_server_url
        log_in(page, base, "me_1")

        response = page.goto(f"{base}/admin/incidents/employee/import/")
        assert response is not None and response.status == 403
        expect(page.get_by_test_id("error-page")).to_contain_text(
            "Your role does not let you open this page."
        )
        expect(page.get_by_role("link", name="Dashboard").last).to_be_visible()
        page.screenshot(path=tmp_path / "forbidden.png")

        page.goto(f"{base}/admin/")
        page.get_by_role("link", name=re.compile("Assigned to me")).first.click()
        page.locator("#result_list tr.data-row a").first.click()
        page.locator("a[href*='/record/']").first.click()

        zone = page.locator(".adt-drop-zone")
        expect(zone).to_contain_text("Choose files")
        # The script is deferred: a drop before it has bound its listeners would fall through.
        expect(page.locator("[data-file-drop-ready]")).to_have_count(1)
        # Two files dropped at once, then a third added: all listed, each removable.
        page.evaluate(
            """(names) => {
                const zone = document.querySelector('.adt-drop-zone');
                for (const group of names) {
                    const data = new DataTransfer();
                    for (const name of group) {
                        data.items.add(new File(['log of ' + name], name, {type: 'text/plain'}));
                    }
                    for (const type of ['dragenter', 'drop']) {
                        const init = {dataTransfer: data, bubbles: true};
                        zone.dispatchEvent(new DragEvent(type, init));
                    }
                }
            }""",
            [["retest-1.log", "retest-2.log"], ["photo.txt"]],
        )
        chosen = page.get_by_test_id("chosen-files")
        expect(chosen.locator("li")).to_have_count(3)
        expect(zone).not_to_have_class(re.compile("adt-drop-over"))
        page.screenshot(path=tmp_path / "dropped.png")
        chosen.get_by_role("button", name="Remove photo.txt").click()
        expect(chosen.locator("li")).to_have_count(2)
        assert page.eval_on_selector("input[name=files]", "input => input.files.length") == 2

        page.fill("input[name=action]", "Retest on RF-OTA")
        page.get_by_role("button", name="Add operation record").click()
        expect(page.locator("body")).to_contain_text("retest-1.log")
        expect(page.locator("body")).to_contain_text("retest-2.log")
        expect(page.locator("body")).not_to_contain_text("photo.txt")
