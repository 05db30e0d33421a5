"""The chat on the pages people work in: the incident page and the problem group page carry the
widget (the add pages do not), with where it talks to and what this person may do there, and
every word it shows translated on the server; the evidence marked in the chat appears with its
stage's records; the parts of the incident and device pages that change live are marked."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from messaging import services
from tests.messaging.test_services import build_chat, picture, say

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat():
    return build_chat()


def page(person, url: str) -> str:
    client = Client()
    client.force_login(person)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def script(html: str, name: str) -> dict:
    found = re.search(rf'<script id="{name}" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def incident_page(chat, person) -> str:
    return page(person, reverse("admin:incidents_incident_change", args=[chat.incident.pk]))


class IncidentPageTests:
    def test_the_incident_page_carries_its_room_and_what_the_person_may_do(self, chat):
        html = incident_page(chat, chat.supervisor)

        config = script(html, "chat-config")
        assert 'data-testid="chat"' in html
        assert config["socket"] == f"/ws/rooms/incident/{chat.incident.pk}/"
        assert config["urls"]["messages"] == reverse(
            "chat:messages", args=["incident", chat.incident.pk]
        )
        assert config["urls"]["edit"] == "/admin/chat/messages/{id}/edit/"
        assert config["me"] == {"id": chat.supervisor.pk, "name": "Fiona Supervisor"}
        assert config["can_mark_evidence"] is True
        assert config["limits"]["page_size"] == 50
        assert "/static/js/chat.js" in html
        assert "/static/js/live_page.js" in html

    @pytest.mark.parametrize("who", ["colleague", "xray_supervisor"])
    def test_who_does_not_work_the_stage_may_not_mark_evidence(self, chat, who):
        config = script(incident_page(chat, getattr(chat, who)), "chat-config")

        assert config["can_mark_evidence"] is False

    def test_the_add_page_has_no_chat(self, chat):
        html = page(chat.admin, reverse("admin:incidents_incident_add"))

        assert 'data-testid="chat"' not in html
        assert "chat-config" not in html

    def test_system_lines_are_rendered_from_labels_in_the_readers_language(self, chat):
        chat.supervisor.language = "zh-hans"
        chat.supervisor.save(update_fields=["language"])

        html = incident_page(chat, chat.supervisor)

        labels = script(html, "chat-labels")
        assert labels["stages"]["fae_retest"] == "FAE复测"
        assert set(labels["workflow"]) >= {"assign", "submit", "approve", "reject", "cancel"}
        assert "%(actor)s" in labels["workflow"]["approve"]
        assert script(html, "chat-config")["language"] == "zh-hans"

    def test_the_parts_that_change_live_are_marked(self, chat):
        html = incident_page(chat, chat.worker)

        for part in ("warnings", "graph", "records", "trail", "timeline"):
            assert f'data-live="{part}"' in html
        # The chat itself is never swapped: it is outside every live part (the records, the
        # last one before it, end before it starts).
        chat_at = html.index('data-testid="chat"')
        last_live = html.rindex("data-live=", 0, chat_at)
        assert last_live == html.index('data-live="records"')
        assert html.index("</section>", last_live) < chat_at

    def test_text_in_the_page_data_is_escaped(self, chat):
        chat.supervisor.display_name = "</script><script>alert(1)</script>"
        chat.supervisor.save(update_fields=["display_name"])

        html = incident_page(chat, chat.supervisor)

        assert "<script>alert(1)</script>" not in html
        assert script(html, "chat-config")["me"]["name"] == chat.supervisor.display_name


class EvidenceInRecordsTests:
    def test_marked_evidence_appears_with_its_stages_records_and_who_marked_it(self, chat):
        photo = say(chat.room, chat.worker, "Top view", files=[picture("top.png")])
        note = say(chat.room, chat.worker, "Pad lifted under U3")
        services.evidence_mark(
            message=photo, by=chat.supervisor, attachment=photo.attachments.get()
        )
        services.evidence_mark(message=note, by=chat.worker)

        html = incident_page(chat, chat.colleague)

        records = html[html.index('data-live="records"') : html.index('data-live="trail"')]
        stage = records[records.index('data-stage="fae_retest"') :]
        assert stage.count('data-testid="evidence"') == 2
        assert f'href="#message-{photo.pk}"' in stage
        assert f'href="#message-{note.pk}"' in stage
        attachment = photo.attachments.get()
        assert f"/admin/chat/attachments/{attachment.pk}/?thumbnail=1" in stage
        assert f'href="/admin/chat/attachments/{attachment.pk}/?preview=1"' in stage
        assert "Pad lifted under U3" in stage
        assert "Marked as evidence by Fiona Supervisor" in stage
        assert "Marked as evidence by Wang Worker" in stage
        marks = script(html, "chat-config")["evidence"]
        assert {"message": photo.pk, "attachment": str(attachment.pk)} in marks
        assert {"message": note.pk, "attachment": ""} in marks


class ProblemGroupPageTests:
    def test_the_problem_group_page_carries_its_own_room(self, chat):
        html = page(
            chat.colleague,
            reverse("admin:incidents_problemgroup_change", args=[chat.problem_group.pk]),
        )

        config = script(html, "chat-config")
        assert config["kind"] == "problem-group"
        assert config["socket"] == f"/ws/rooms/problem-group/{chat.problem_group.pk}/"
        assert config["can_mark_evidence"] is False
        assert config["evidence"] == []

    def test_the_problem_group_add_page_has_no_chat(self, chat):
        html = page(chat.admin, reverse("admin:incidents_problemgroup_add"))

        assert "chat-config" not in html


class DevicePageTests:
    def test_the_device_page_listens_to_its_device_and_marks_custody_and_trail(self, chat):
        device = chat.incident.device

        html = page(chat.supervisor, reverse("admin:locations_device_change", args=[device.pk]))

        assert f'data-live-socket="/ws/devices/{device.pk}/"' in html
        assert 'data-live="custody"' in html
        assert 'data-live="trail"' in html
        assert "/static/js/live_page.js" in html
