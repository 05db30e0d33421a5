"""Reads of the chat for the pages around it: what counts as a message for me (discussion, not
the system's lines, which reach people as notifications), which incidents hold some, and what
was marked as evidence."""

import pytest

from incidents.models import Incident
from messaging import selectors, services
from messaging.models import Evidence
from tests.messaging.test_services import build_chat, picture, say

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat():
    return build_chat()


class UnreadSystemLinesTests:
    def test_system_lines_are_not_messages_for_me(self, chat):
        services.room_join(room=chat.room, person=chat.colleague)
        services.room_post_event(
            room=chat.room, code="workflow", actor=chat.supervisor, action="approve"
        )
        say(chat.room, chat.worker, "the board is at the X-ray lab")

        assert selectors.unread_count(chat.colleague) == 1
        assert selectors.unread_by_incident(chat.colleague, [chat.incident.pk]) == {
            chat.incident.pk: 1
        }


class UnreadIncidentIdsTests:
    def test_only_incidents_whose_room_holds_unread_messages_are_listed(self, chat):
        services.room_join(room=chat.room, person=chat.colleague)
        services.room_join(room=chat.group_room, person=chat.colleague)
        say(chat.group_room, chat.worker, "a problem group's, not an incident's")

        assert (
            list(Incident.objects.filter(pk__in=selectors.unread_incident_ids(chat.colleague)))
            == []
        )

        say(chat.room, chat.worker, "new")

        assert list(
            Incident.objects.filter(pk__in=selectors.unread_incident_ids(chat.colleague))
        ) == [chat.incident]
        assert (
            list(Incident.objects.filter(pk__in=selectors.unread_incident_ids(chat.worker))) == []
        )

    def test_the_anonymous_have_none(self, chat):
        from django.contrib.auth.models import AnonymousUser

        say(chat.room, chat.worker, "new")

        assert (
            list(Incident.objects.filter(pk__in=selectors.unread_incident_ids(AnonymousUser())))
            == []
        )


class IncidentEvidenceTests:
    def test_the_evidence_of_an_incident_newest_first_with_who_marked_it(self, chat):
        text = say(chat.room, chat.worker, "Pad lifted under U3")
        photo = say(chat.room, chat.worker, "", files=[picture()])
        first = services.evidence_mark(message=text, by=chat.supervisor)
        second = services.evidence_mark(
            message=photo, by=chat.worker, attachment=photo.attachments.get()
        )

        evidence = list(selectors.incident_evidence(chat.incident.pk))

        assert evidence == [second, first]
        assert [item.marked_by for item in evidence] == [chat.worker, chat.supervisor]
        assert Evidence.objects.filter(incident=chat.incident, stage="fae_retest").count() == 2
