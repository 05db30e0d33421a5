"""The workflow's pages show what the chat keeps of an incident (what was marked as evidence,
with the stage's records; unread messages, on the incident list) through what the chat
registered in `incidents.contributions`, without importing the chat; with nothing registered
they show none of it and still answer."""

import pytest
from django.test import Client
from django.urls import reverse

from incidents import contributions, selectors
from messaging import services as chat_services
from tests.messaging.test_services import build_chat, say

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat():
    return build_chat()


@pytest.fixture
def nothing_registered():
    """The workflow as it stands without an app above it."""
    registered = {
        "evidence": contributions._evidence,
        "evidence_by_incident": contributions._evidence_by_incident,
        "unread_by_incident": contributions._unread_by_incident,
        "unread_incident_ids": contributions._unread_incident_ids,
    }
    contributions.register(
        evidence=contributions._no_evidence,
        evidence_by_incident=contributions._no_evidence_by_incident,
        unread_by_incident=contributions._no_unread,
        unread_incident_ids=contributions._no_unread_incidents,
    )
    yield
    contributions.register(**registered)


def client_for(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def marked(chat):
    """Two messages in the incident's room the colleague who opened it has not read yet, the
    first marked as evidence."""
    chat_services.room_join(room=chat.room, person=chat.colleague)
    message = say(chat.room, chat.worker, "Pad lifted under U3")
    say(chat.room, chat.worker, "Retesting now")
    return chat_services.evidence_mark(message=message, by=chat.supervisor)


class ChatContributesTests:
    def test_what_the_chat_marked_is_listed_with_the_records_of_its_stage(self, chat):
        evidence = marked(chat)

        [group] = selectors.incident_records_by_stage(chat.incident)

        assert (group["stage"], group["evidence"]) == (evidence.stage, [evidence])

    def test_the_incident_list_counts_and_filters_what_the_chat_says_is_unread(self, chat):
        marked(chat)
        client = client_for(chat.colleague)
        changelist = reverse("admin:incidents_incident_changelist")

        page = client.get(changelist)
        unread = client.get(changelist + "?unread=1")

        assert [i.unread_messages for i in page.context["cl"].result_list] == [2]
        assert list(unread.context["cl"].result_list) == [chat.incident]


class NothingRegisteredTests:
    def test_the_records_are_listed_without_evidence(self, chat, nothing_registered):
        marked(chat)

        assert selectors.incident_records_by_stage(chat.incident) == []

    def test_the_incident_list_and_page_answer_with_nothing_unread(self, chat, nothing_registered):
        marked(chat)
        client = client_for(chat.colleague)
        changelist = reverse("admin:incidents_incident_changelist")

        page = client.get(changelist)
        unread = client.get(changelist + "?unread=1")
        change = client.get(reverse("admin:incidents_incident_change", args=[chat.incident.pk]))

        assert [i.unread_messages for i in page.context["cl"].result_list] == [0]
        assert list(unread.context["cl"].result_list) == []
        assert change.status_code == 200
