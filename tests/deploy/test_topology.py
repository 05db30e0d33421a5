"""The production topology, for real, on 127.0.0.1: two app processes with production settings,
the task worker and nginx rendered from the deployment's template, PostgreSQL and Redis.
Through nginx a supervisor logs in, opens an incident, assigns it; two chat clients on different
app processes talk and both see the assignment live; one app process is killed and nothing is
lost; a legacy workbook uploaded through nginx is checked by the worker.

`make test` requires it (ADT_REQUIRE_TOPOLOGY=1): nginx missing is then a failure, not a skip.
"""

import asyncio
import json
import os
import uuid

import pytest
import websockets
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from incidents.choices import Stage, Step
from incidents.models import Incident, LegacyImport
from incidents.models.imports import LegacyImportStatus
from scripts.servers import RoomClient, database_url, server_environment
from scripts.topology import (
    Browser,
    nginx_available,
    production_topology,
    static_paths,
    wait_for,
)
from tests.factories import PASSWORD, AdminFactory
from tests.incidents.test_workflow import build_team, open_incident
from tests.messaging.conftest import session_cookie
from tests.messaging.test_cross_process import assert_each_once

SAMPLE = settings.BASE_DIR / "fixtures" / "legacy_sample.xlsx"
REQUIRED = os.environ.get("ADT_REQUIRE_TOPOLOGY") == "1"

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not settings.REDIS_URL,
        reason="the topology runs on PostgreSQL and Redis",
    ),
    pytest.mark.skipif(
        not REQUIRED and not nginx_available(),
        reason="nginx is not installed (scripts/services.sh installs it for make test)",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(240),
]


class Through:
    """nginx as the address RoomClient connects to."""

    def __init__(self, port: int):
        self.port = port

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"


def is_system_line(frame: dict) -> bool:
    return frame.get("kind") == "system"


def test_the_production_topology_serves_the_workflow_and_the_chat_and_survives_a_dead_process(
    tmp_path,
):
    assert nginx_available(), "nginx is required by make test (scripts/services.sh)"
    team = build_team()
    incident = open_incident(team, Stage.FAE_RETEST)
    supervisor = team.supervisor(Stage.FAE_RETEST)
    worker = team.worker(Stage.FAE_RETEST)
    administrator = AdminFactory()
    for person in (supervisor, administrator):
        # The suite hashes with MD5 for speed; the app processes know production's hashers.
        person.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
        person.save(update_fields=["password"])
    base_env = server_environment(
        database_url=database_url(connection.settings_dict),
        redis_url=settings.REDIS_URL,
        data_dir=tmp_path,
    )

    with production_topology(base_env=base_env, directory=tmp_path, max_body="2m") as topology:
        # A supervisor logs in and opens the incident, through nginx.
        browser = Browser(topology.url)
        browser.log_in(supervisor.username, PASSWORD)
        status, headers, page = browser.get(f"/admin/incidents/incident/{incident.pk}/change/")
        assert status == 200, page[:500]
        assert incident.device.serial_number in page
        request_id = headers["X-Request-ID"]

        # Collected static files come from nginx itself, cached for good; uploads never do.
        asset = next(path for path in static_paths(page) if path.endswith(".css"))
        status, headers, _ = browser.get(asset)
        assert status == 200 and "immutable" in headers["Cache-Control"]
        assert "X-Request-ID" not in headers
        assert browser.get("/media/attachments/anything.png")[0] == 404
        assert headers["X-Content-Type-Options"] == "nosniff"

        # nginx and the app log the same request under one id, the app as JSON.
        app_lines = [
            json.loads(line)
            for server in topology.apps
            for line in server.log_text().splitlines()
            if line.startswith("{")
        ]
        mine = [line for line in app_lines if line.get("request_id") == request_id]
        assert [line["status"] for line in mine if line["logger"] == "adt.request"] == [200]
        assert request_id in topology.nginx.access_log()

        asyncio.run(
            chat_and_live_workflow(topology, browser, incident, supervisor, worker, tmp_path)
        )

        # The worker: a legacy workbook uploaded through nginx is checked in the background.
        admin_browser = Browser(topology.url)
        admin_browser.log_in(administrator.username, PASSWORD)
        status, _headers, body = admin_browser.upload(
            "/admin/incidents/legacyimport/add/", {}, "workbook", SAMPLE
        )
        assert status == 200, body[:500]
        job = wait_for(
            lambda: LegacyImport.objects.filter(status=LegacyImportStatus.CHECKED).first(),
            seconds=60,
            what="the worker to check the uploaded workbook",
        )
        assert job.created_by_id == administrator.pk

        # A body over nginx's limit is refused by nginx (413), before any app process.
        status, _headers, _body = admin_browser.request(
            "POST",
            "/admin/incidents/legacyimport/add/",
            b"x" * (3 * 1024 * 1024),
            content_type="application/octet-stream",
        )
        assert status == 413

        # With every app process gone, nginx answers 502 (README: troubleshooting).
        for server in topology.apps:
            server.kill()
        assert browser.get("/healthz")[0] == 502

    # Everything it started has stopped.
    for process in (*[s.process for s in topology.apps], topology.worker.process):
        assert process.poll() is not None
    assert topology.nginx.process.poll() is not None


async def chat_and_live_workflow(topology, browser, incident, supervisor, worker, tmp_path):
    nginx = Through(topology.nginx.port)
    path = f"/ws/rooms/incident/{incident.pk}/"
    lead = RoomClient(path, browser.cookie("sessionid"), "lead")
    engineer = RoomClient(path, await database_sync_to_async(session_cookie)(worker), "engineer")
    try:
        # A page of another site cannot open the room (README: WebSocket not connecting).
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(
                nginx.ws_url(path),
                additional_headers={"Cookie": f"sessionid={lead.session}"},
                origin="http://evil.example.com",
                open_timeout=5,
            )
        assert refused.value.response.status_code == 403

        # nginx sends each new connection to the process with fewer open ones: one each.
        await lead.connect(nginx)
        await engineer.connect(nginx)

        # The supervisor assigns the incident through nginx; both pages see it live.
        status, _headers, body = await asyncio.to_thread(
            browser.post,
            f"/admin/incidents/incident/{incident.pk}/assign/",
            {
                "expected_stage": Stage.FAE_RETEST,
                "expected_step": Step.UNASSIGNED,
                "assignee": worker.pk,
                "comment": "Retest it on station 3",
            },
        )
        assert status == 200, body[:500]
        for client in (lead, engineer):
            await client.wait_until(
                lambda c=client: any(is_system_line(f) for f in c.received),
                what="the assignment's system line",
            )
        stored = await database_sync_to_async(Incident.objects.get)(pk=incident.pk)
        assert (stored.step, stored.assignee_id) == (Step.ASSIGNED, worker.pk)

        # Chat across the two processes, both ways.
        await lead.send("lead to engineer")
        await engineer.send("engineer to lead")
        for client in (lead, engineer):
            await client.wait_until(
                lambda c=client: {"lead to engineer", "engineer to lead"} <= set(c.texts),
                what="both messages",
            )

        # One app process dies. Exactly one client loses its connection: they were on
        # different processes.
        await asyncio.to_thread(topology.apps[0].kill)
        await asyncio.sleep(1)
        dropped = [client for client in (lead, engineer) if not client.connected]
        kept = [client for client in (lead, engineer) if client.connected]
        assert len(dropped) == 1 and len(kept) == 1

        # A form posted from another origin is refused (README: CSRF row).
        status, _h, _b = await asyncio.to_thread(
            browser.request,
            "POST",
            f"/admin/incidents/incident/{incident.pk}/cancel/",
            {"csrfmiddlewaretoken": browser.cookie("csrftoken"), "comment": "x"},
            headers={"Origin": "http://evil.example.com", "Referer": "http://evil.example.com/"},
        )
        assert status == 403

        # Pages keep loading through nginx meanwhile.
        for _ in range(6):
            status, _h, _b = await asyncio.to_thread(
                browser.get, f"/admin/incidents/incident/{incident.pk}/change/"
            )
            assert status == 200

        # Messages sent while the other client is away reach it once it reconnects (through
        # nginx, to the surviving process) and resumes from its last id.
        while_away = [f"while away {n} {uuid.uuid4().hex[:6]}" for n in range(3)]
        for text in while_away:
            await kept[0].send(text)
        await dropped[0].connect_with_retries([nginx], seconds=20)
        expected_texts = {"lead to engineer", "engineer to lead", *while_away}
        for client in (lead, engineer):
            await client.wait_until(
                lambda c=client: expected_texts <= set(c.texts),
                timeout=15,
                what="every message after the reconnect",
            )
        everything = [f["text"] for f in kept[0].received]
        assert_each_once(dropped[0], everything)
    finally:
        await lead.close()
        await engineer.close()
        await asyncio.sleep(0.3)
