"""Evidence is fixed: once a chat message is marked as evidence its author can no longer edit
it, even within the edit window; and a message edited after it was marked (before marking froze
it) is printed in the report as it was marked, saying it was edited after."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from messaging import services
from messaging.choices import RevisionKind
from messaging.models import Message, MessageRevision
from messaging.services import ChatError
from tests.incidents.test_reports import pdf_text
from tests.messaging.test_services import say

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat():
    from tests.messaging.test_services import build_chat

    return build_chat()


class EvidenceFixedTests:
    def test_a_marked_message_cannot_be_edited_by_its_author(self, chat):
        message = say(chat.room, chat.worker, "Voids under U3 on the X-ray")
        services.evidence_mark(message=message, by=chat.supervisor)

        with pytest.raises(ChatError) as refused:
            services.message_edit(message=message, by=chat.worker, text="No voids at all")

        assert refused.value.code == "evidence"
        message.refresh_from_db()
        assert message.text == "Voids under U3 on the X-ray"
        assert not MessageRevision.objects.filter(message=message).exists()

    def test_before_marking_the_author_may_still_correct_it(self, chat):
        message = say(chat.room, chat.worker, "Voids under U2")

        services.message_edit(message=message, by=chat.worker, text="Voids under U3")

        message.refresh_from_db()
        assert message.text == "Voids under U3"

    def test_an_edit_made_after_marking_is_not_what_the_report_prints(self, chat):
        message = say(chat.room, chat.worker, "Voids under U3 on the X-ray")
        evidence = services.evidence_mark(message=message, by=chat.supervisor)
        # As an edit made before marking froze messages left it.
        later = evidence.marked_at + timedelta(minutes=2)
        MessageRevision.objects.create(
            message=message,
            kind=RevisionKind.EDIT,
            text=message.text,
            by=chat.worker,
            created_at=later,
        )
        Message.objects.filter(pk=message.pk).update(text="No voids at all", edited_at=later)
        evidence.refresh_from_db()

        assert evidence.edited_after_marking
        assert evidence.marked_text == "Voids under U3 on the X-ray"
        client = Client()
        client.force_login(chat.admin)
        pdf = client.get(reverse("incident_report", args=[chat.incident.pk, "pdf"]))
        text, _images = pdf_text(pdf.content)
        assert "Voids under U3 on the X-ray" in text
        assert "No voids at all" not in text
        assert "edited the message after it was marked" in " ".join(text.split())

    def test_a_message_unchanged_since_marking_prints_as_it_is(self, chat):
        message = say(chat.room, chat.worker, "Pad lifted on J2")
        evidence = services.evidence_mark(message=message, by=chat.supervisor)

        assert not evidence.edited_after_marking
        assert evidence.marked_text == "Pad lifted on J2"
