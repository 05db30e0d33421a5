"""The chat on the incident page, in Chromium, with two people in two browsers: one writes and
the other sees it at once; a picture dropped or pasted shows as a thumbnail, is marked as
evidence and appears with the stage's records; a supervisor's approval changes the other
person's buttons and timeline without a reload; and when the server restarts, the widget says
it is offline, comes back by itself and shows what was sent in between, once each.

The server is this module's own (not the session's), so that it can be restarted."""

import base64
import contextlib
import io
import re
import subprocess
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import segno
from playwright.sync_api import Browser, Page, expect

from fixtures.demo import demo_employees
from tests.browser.servers import ROOT, SeededCopy, _free_port, _wait_until_up
from tests.browser.test_admin import log_in

pytestmark = pytest.mark.browser

LIVE = 15_000  # ms: what one person does reaches the other's open page within this


class RestartableServer:
    """uvicorn as `make run` starts it, on a fixed port, so a restart keeps the address."""

    def __init__(self, env: dict, log_path):
        self.env, self.log_path = env, log_path
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--ws",
                "websockets-sansio",
                "--lifespan",
                "off",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )
        _wait_until_up(f"{self.url}/healthz", self.process, self.log_path)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)
        self.process = None


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory):
    copy = SeededCopy(tmp_path_factory, "chat-server")
    server = RestartableServer(copy.env, copy.data_dir / "server.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        copy.drop()


@pytest.fixture
def two_people(browser: Browser, browser_context_args):
    """Two separate browsers (cookies, sessions), as two people at two desks."""
    contexts = [
        browser.new_context(**{**browser_context_args, "timezone_id": "Asia/Shanghai"})
        for _ in range(2)
    ]
    yield [context.new_page() for context in contexts]
    for context in contexts:
        context.close()


NAMES = {row["username"]: row["display_name"] for row in demo_employees()}
USERNAMES = {name: username for username, name in NAMES.items()}


def waiting_for_review(page: Page, base: str) -> list[str]:
    """The incidents the FAE supervisor is to review: submitted by one of the FAE engineers."""
    page.goto(f"{base}/admin/incidents/incident/?work=review")
    links = page.locator("#result_list th.field-number a")
    return [base + href for href in links.evaluate_all("links => links.map(a => a.pathname)")]


def assignee_username(page: Page) -> str:
    """The login of the incident's assignee, read from its summary ("赵强 Zhao Qiang")."""
    # The line's last words are the name (an icon comes first).
    text = page.get_by_test_id("summary-assignee").inner_text()
    return USERNAMES[text.splitlines()[-1].strip()]


def open_chat(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.get_by_test_id("chat-status")).to_have_attribute("data-state", "online")


def write(page: Page, text: str) -> None:
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-input").press("Enter")


def messages_with(page: Page, text: str):
    return page.get_by_test_id("chat-messages").locator("[data-testid=chat-message]", has_text=text)


def manage(server, code: str) -> None:
    """Python run by manage.py shell against the server's database, as another process."""
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=server.env,
        check=True,
        capture_output=True,
        timeout=120,
    )


@contextlib.contextmanager
def deactivated(server, username: str):
    """`username` deactivated by the administrator for the block, active again after it."""
    manage(
        server,
        "from incidents.models import Employee as E\n"
        "from incidents.services.people import employee_deactivate\n"
        f"employee_deactivate(employee=E.objects.get(username={username!r}),"
        " by=E.objects.get(username='admin'))",
    )
    try:
        yield
    finally:
        manage(
            server,
            "from incidents.models import Employee as E\n"
            f"E.objects.filter(username={username!r}).update(is_active=True)",
        )


def png(text: str) -> str:
    image = io.BytesIO()
    segno.make(text).save(image, kind="png", scale=8)
    return base64.b64encode(image.getvalue()).decode()


# A file handed to the widget the two ways a person does without the picker: dropped on it, or
# pasted into the text box from the clipboard.
HAND_OVER = """
({how, name, data}) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name, {type: "image/png"}));
    if (how === "drop") {
        const chat = document.querySelector(".adt-chat");
        chat.dispatchEvent(new DragEvent("dragenter", {dataTransfer: transfer, bubbles: true}));
        chat.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true,
                                                  cancelable: true}));
    } else {
        const box = document.querySelector("[data-testid=chat-input]");
        box.dispatchEvent(new ClipboardEvent("paste", {clipboardData: transfer, bubbles: true,
                                                       cancelable: true}));
    }
}
"""


class ChatBrowserTests:
    def test_two_people_talk_live_and_a_dropped_picture_becomes_evidence(
        self, chat_server, two_people, tmp_path
    ):
        base = chat_server.url
        lead, engineer = two_people
        log_in(lead, base, "fae_lead")
        url = waiting_for_review(lead, base)[-1]
        open_chat(lead, url)
        username = assignee_username(lead)
        log_in(engineer, base, username)
        open_chat(engineer, url)
        engineer_name = NAMES[username]

        write(engineer, "Retest done on the golden station.\nLog: https://logs.example.com/run/42")

        line = messages_with(lead, "Retest done on the golden station.")
        expect(line).to_have_count(1, timeout=LIVE)
        expect(line.locator("a.adt-msg-link")).to_have_attribute(
            "href", "https://logs.example.com/run/42"
        )
        expect(line).to_contain_text(engineer_name)
        members = lead.get_by_test_id("chat-members")
        expect(members.locator("[data-online='1']", has_text=engineer_name)).to_have_count(1)

        # An @mention picked from the suggestions, and a reply quoting the engineer.
        line.hover()
        line.get_by_role("button", name="Reply").click()
        box = lead.get_by_test_id("chat-input")
        box.fill("Thanks @" + engineer_name.split()[1])
        expect(lead.get_by_test_id("chat-suggest")).to_contain_text(engineer_name)
        box.press("Enter")
        box.press_sequentially("please attach the X-ray too")
        box.press("Enter")
        reply = messages_with(engineer, "please attach the X-ray too")
        expect(reply).to_have_count(1, timeout=LIVE)
        expect(reply.locator(".adt-msg-quote")).to_contain_text("Retest done")
        expect(reply.locator(".adt-msg-mention")).to_have_text("@" + engineer_name)

        # A picture dropped on the chat, another pasted into the text box, sent together.
        engineer.evaluate(HAND_OVER, {"how": "drop", "name": "xray-top.png", "data": png("top")})
        engineer.evaluate(HAND_OVER, {"how": "paste", "name": "xray-side.png", "data": png("side")})
        # And SVG calling itself a PNG: a file to download, never a picture.
        fake = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg"/>').decode()
        engineer.evaluate(HAND_OVER, {"how": "drop", "name": "xray-fake.png", "data": fake})
        expect(engineer.get_by_test_id("chat-staged").locator("li")).to_have_count(3)
        engineer.get_by_test_id("chat-input").fill("X-ray, two views")
        engineer.get_by_test_id("chat-send").click()

        pictures = messages_with(lead, "X-ray, two views")
        expect(pictures).to_have_count(1, timeout=LIVE)
        thumbnails = pictures.get_by_test_id("chat-thumbnail")
        expect(thumbnails).to_have_count(2)
        for thumbnail in thumbnails.all():
            expect(thumbnail).to_have_js_property("complete", True)
            assert thumbnail.evaluate("img => img.naturalWidth") > 0
            # It opens the preview made on upload; the original is a download beside it.
            assert thumbnail.evaluate("img => img.closest('a').href").endswith("?preview=1")
        expect(pictures.get_by_test_id("chat-original")).to_have_count(2)
        chip = pictures.locator(".adt-msg-download", has_text="xray-fake.png")
        expect(chip).to_have_count(1)
        expect(chip.locator("img")).to_have_count(0)
        lead.screenshot(path=tmp_path / "chat-en.png", full_page=True)

        # The supervisor keeps the first view as evidence of this stage.
        pictures.locator(".adt-msg-file").first.get_by_role(
            "button", name="Mark as evidence"
        ).click()
        for page in (lead, engineer):
            evidence = page.get_by_test_id("records").get_by_test_id("evidence")
            expect(evidence).to_have_count(1, timeout=LIVE)
            expect(evidence).to_contain_text("Marked as evidence by 吴娜 Wu Na")
            expect(evidence.locator("img")).to_have_js_property("complete", True)
        expect(
            engineer.get_by_test_id("records").locator("[data-stage=fae_retest]")
        ).to_contain_text("Evidence")
        engineer.get_by_test_id("records").get_by_role("link", name="Show in the chat").click()
        expect(messages_with(engineer, "X-ray, two views")).to_have_class(
            re.compile("adt-msg-focus")
        )
        expect(pictures.locator(".adt-msg-evidence")).to_have_count(1, timeout=LIVE)
        lead.get_by_test_id("records").screenshot(path=tmp_path / "evidence-en.png")

        # The same page in Chinese: the system lines and the widget speak the reader's language.
        engineer.get_by_text(engineer_name).first.click()
        engineer.get_by_role("button", name=re.compile("简体中文")).click()
        expect(engineer.locator("html")).to_have_attribute("lang", "zh-hans")
        open_chat(engineer, url)
        expect(engineer.get_by_test_id("chat-messages")).to_contain_text("FAE复测")
        engineer.screenshot(path=tmp_path / "chat-zh.png", full_page=True)
        engineer.get_by_text(engineer_name).first.click()
        engineer.get_by_role("button", name=re.compile("English")).click()

    def test_a_reader_in_another_time_zone_reads_the_factorys_clock_with_its_zone_named(
        self, chat_server, browser: Browser, browser_context_args
    ):
        context = browser.new_context(**{**browser_context_args, "timezone_id": "America/New_York"})
        page = context.new_page()
        try:
            log_in(page, chat_server.url, "fae_lead")
            open_chat(page, waiting_for_review(page, chat_server.url)[0])
            write(page, "what time is it at the factory?")
            stamp = messages_with(page, "what time is it at the factory?").locator("time")
            expect(stamp).to_have_count(1)

            sent = datetime.fromisoformat(stamp.get_attribute("datetime"))
            factory = sent.astimezone(ZoneInfo("Asia/Shanghai"))
            assert stamp.inner_text() == factory.strftime("%H:%M")
            assert stamp.get_attribute("title").endswith("(Asia/Shanghai)")
        finally:
            context.close()

    def test_an_approval_in_one_browser_changes_the_others_page_without_a_reload(
        self, chat_server, two_people, tmp_path
    ):
        base = chat_server.url
        lead, other = two_people
        log_in(lead, base, "fae_lead")
        url = waiting_for_review(lead, base)[0]
        lead.goto(url)
        log_in(other, base, "admin")
        open_chat(other, url)
        other.evaluate("window.notReloaded = true")
        timeline = other.get_by_test_id("timeline")
        approvals_before = timeline.locator("li[data-action=approve]").count()
        expect(other.get_by_test_id("summary-stage")).to_have_text("FAE retest")
        expect(other.locator("a[href$='/approve/']")).to_have_count(1)

        lead.locator("a[href$='/approve/']").first.click()
        lead.get_by_role("button", name="Approve").click()
        expect(lead.locator("body")).to_contain_text("is now X-ray inspection")

        timeline = other.get_by_test_id("timeline")
        expect(timeline.locator("li[data-action=approve]")).to_have_count(
            approvals_before + 1, timeout=LIVE
        )
        expect(timeline.locator("li[data-action=approve]").first).to_contain_text(
            "FAE retest → X-ray inspection"
        )
        expect(other.get_by_test_id("summary-stage")).to_have_text("X-ray inspection")
        graph = other.get_by_test_id("workflow-graph")
        expect(graph.locator("[data-stage=xray]")).to_have_attribute("data-state", "current")
        # Nothing is waiting for review any more: the header's Approve button is gone.
        expect(other.locator("a[href$='/approve/']")).to_have_count(0)
        expect(other.locator("a[href$='/history/']")).to_have_count(1)
        expect(
            messages_with(other, "approved FAE retest; the incident moves to X-ray inspection")
        ).to_have_count(1)
        assert other.evaluate("window.notReloaded") is True
        other.screenshot(path=tmp_path / "approved-live-en.png", full_page=True)

    def test_after_a_server_restart_the_widget_comes_back_and_shows_what_was_sent_meanwhile(
        self, chat_server, two_people, tmp_path
    ):
        base = chat_server.url
        lead, engineer = two_people
        log_in(lead, base, "fae_lead")
        url = waiting_for_review(lead, base)[-1]
        open_chat(lead, url)
        log_in(engineer, base, assignee_username(lead))
        open_chat(engineer, url)

        chat_server.stop()
        for page in (lead, engineer):
            expect(page.get_by_test_id("chat-status")).to_have_attribute(
                "data-state", "offline", timeout=LIVE
            )
        expect(lead.get_by_test_id("chat-status")).to_contain_text("Offline")
        lead.get_by_test_id("chat").screenshot(path=tmp_path / "offline-en.png")
        # Typed while offline: kept, and sent when the connection returns.
        write(engineer, "Typed while the server was down")
        expect(engineer.get_by_test_id("chat-pending")).to_contain_text(
            "Waiting for the connection"
        )
        time.sleep(4)  # the widgets back off further

        chat_server.start()
        # Sent over HTTP the moment the server is back, before the lead's widget reconnects.
        status = engineer.evaluate(
            """async () => {
                const config = JSON.parse(document.getElementById("chat-config").textContent);
                const body = new FormData();
                body.append("client_id", crypto.randomUUID());
                body.append("text", "Sent while you were away");
                const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
                const response = await fetch(config.urls.send, {
                    method: "POST", body, headers: {"X-CSRFToken": token},
                });
                return response.status;
            }"""
        )
        assert status == 200

        # Each widget retries on its own back-off, the longest wait being 15 s.
        for page in (engineer, lead):
            expect(page.get_by_test_id("chat-status")).to_have_attribute(
                "data-state", "online", timeout=30_000
            )
        for page in (engineer, lead):
            for text in ("Typed while the server was down", "Sent while you were away"):
                expect(messages_with(page, text)).to_have_count(1, timeout=LIVE)
        expect(engineer.get_by_test_id("chat-pending")).to_have_count(0)
        ids = lead.get_by_test_id("chat-messages").locator("[data-testid=chat-message]")
        shown = [int(i) for i in ids.evaluate_all("items => items.map(i => i.dataset.id)")]
        assert shown == sorted(set(shown))
        lead.get_by_test_id("chat").screenshot(path=tmp_path / "back-online-en.png")

    def test_a_move_at_the_scan_station_refreshes_the_open_device_page(
        self, chat_server, two_people, tmp_path
    ):
        base = chat_server.url
        watcher, clerk = two_people
        log_in(watcher, base, "fae_lead")
        # A device without an open incident, elsewhere than the shelf it goes to: one in the
        # middle of a stage's work stays where the stage works (test_daily_screens).
        watcher.goto(f"{base}/admin/locations/device/")
        free = watcher.locator("#result_list tbody tr").filter(
            has=watcher.locator("td.field-open_stage", has_text=re.compile(r"^\s*—\s*$")),
            has_not_text="WH-B2-06",
        )
        device_link = free.first.locator("th.field-serial_number a")
        serial = device_link.inner_text().strip()
        device_link.click()
        watcher.evaluate("window.notReloaded = true")
        trail = watcher.get_by_test_id("device-trail")
        expect(trail.get_by_test_id("custody")).not_to_contain_text("WH-B2-06")

        log_in(clerk, base, "xray_1")
        clerk.goto(f"{base}/admin/locations/device/scan/")
        for code in (f"DEV:{serial}", "WH-B2-06"):
            clerk.get_by_test_id("scan-input").press_sequentially(code)
            clerk.get_by_test_id("scan-input").press("Enter")
        clerk.get_by_role("button", name="Move now").click()
        expect(clerk.get_by_test_id("scan-banner")).to_have_attribute("data-level", "moved")

        expect(trail.get_by_test_id("custody")).to_contain_text("WH-B2-06", timeout=LIVE)
        expect(trail.get_by_test_id("trail-entry").first).to_contain_text("WH-B2-06")
        assert watcher.evaluate("window.notReloaded") is True
        trail.screenshot(path=tmp_path / "device-live-en.png")

    def test_a_person_deactivated_meanwhile_sees_why_their_device_page_and_dashboard_stopped(
        self, chat_server, two_people, tmp_path
    ):
        """The device page's and the dashboard's sockets are closed with a reason frame: the
        pages say why and do not knock again (a page that reconnected would be refused anew,
        or reload to the sign-in page)."""
        base = chat_server.url
        device_page, dashboard = two_people
        log_in(device_page, base, "fae_lead")
        incident = waiting_for_review(device_page, base)[0]
        device_page.context.clear_cookies()
        log_in(device_page, base, "me_2")
        log_in(dashboard, base, "me_2")
        device_page.goto(incident)
        device_page.get_by_test_id("summary-device").locator("a").click()
        expect(device_page.get_by_test_id("device-trail")).to_be_visible()
        dashboard.goto(f"{base}/admin/")
        expect(dashboard.get_by_test_id("dashboard-live")).to_be_visible(timeout=LIVE)
        for page in two_people:
            page.evaluate("window.notReloaded = true")

        with deactivated(chat_server, "me_2"):
            device_notice = device_page.get_by_test_id("live-refused")
            dashboard_notice = dashboard.get_by_test_id("dashboard-refused")
            expect(device_notice).to_contain_text(re.compile("deactivated|停用"), timeout=LIVE)
            expect(dashboard_notice).to_contain_text(re.compile("deactivated|停用"), timeout=LIVE)
            expect(dashboard.get_by_test_id("dashboard-live")).to_be_hidden()
            time.sleep(3)  # a page that knocked again would have a second notice, or reloaded
            expect(device_notice).to_have_count(1)
            expect(dashboard_notice).to_have_count(1)
            for page in two_people:
                assert page.evaluate("window.notReloaded") is True
            device_page.get_by_test_id("device-trail").screenshot(
                path=tmp_path / "device-refused.png"
            )

    def test_a_person_deactivated_meanwhile_sees_why_their_chat_closed_and_it_stays_closed(
        self, chat_server, two_people, tmp_path
    ):
        base = chat_server.url
        lead, engineer = two_people
        log_in(lead, base, "fae_lead")
        url = waiting_for_review(lead, base)[0]
        log_in(engineer, base, "me_2")
        open_chat(engineer, url)

        # An administrator deactivates her in another process, as the person's page does.
        with deactivated(chat_server, "me_2"):
            status = engineer.get_by_test_id("chat-status")
            expect(status).to_have_attribute("data-state", "refused", timeout=LIVE)
            expect(status).to_contain_text(re.compile("deactivated|停用"))
            time.sleep(3)  # a widget that reconnected would be offline or online by now
            expect(status).to_have_attribute("data-state", "refused")
            engineer.get_by_test_id("chat").screenshot(path=tmp_path / "deactivated.png")
