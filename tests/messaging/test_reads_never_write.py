"""Reads never write: opening a problem group's or an incident's messages, or asking whom one
can mention there, creates no room; the first message sent does."""

import pytest
from django.test import Client
from django.urls import reverse

from messaging.models import Room
from tests.factories import AdminFactory, IncidentFactory, ProblemGroupFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    client = Client()
    client.force_login(AdminFactory())
    return client


def url(name: str, kind: str, subject) -> str:
    return reverse(f"chat:{name}", kwargs={"kind": kind, "subject_id": subject.pk})


@pytest.mark.parametrize("kind", ["problem-group", "incident"])
class ReadsNeverWriteTests:
    def subject(self, kind):
        return ProblemGroupFactory() if kind == "problem-group" else IncidentFactory()

    def test_reading_the_messages_of_a_room_never_opened_creates_nothing(self, client, kind):
        subject = self.subject(kind)

        answer = client.get(url("messages", kind, subject)).json()

        assert answer["messages"] == [] and answer["more"] is False
        assert not Room.objects.exists()

    def test_asking_whom_to_mention_creates_nothing(self, client, kind):
        subject = self.subject(kind)

        answer = client.get(url("people", kind, subject), {"q": ""})

        assert answer.status_code == 200
        assert answer.json()["people"]
        assert not Room.objects.exists()

    def test_the_first_message_opens_the_room(self, client, kind):
        subject = self.subject(kind)

        sent = client.post(url("send", kind, subject), {"text": "First", "client_id": ""})

        assert sent.status_code == 200, sent.content
        assert Room.objects.count() == 1
        answer = client.get(url("messages", kind, subject)).json()
        assert [m["text"] for m in answer["messages"]] == ["First"]
