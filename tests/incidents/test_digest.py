"""The daily digest: each supervisor, in their language, gets what is new, overdue and waiting
for review in the stages their departments own; nobody gets an empty one."""

import datetime

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from incidents.choices import Stage, Step
from incidents.models import Department
from tests.factories import DeviceFactory, IncidentFactory, SupervisorFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def incident_in(stage, *, days_in_stage: float, step=Step.UNASSIGNED, serial: str):
    return IncidentFactory(
        device=DeviceFactory(serial_number=serial),
        stage=stage,
        step=step,
        stage_entered_at=NOW - datetime.timedelta(days=days_in_stage),
    )


@pytest.fixture
def supervisors(settings):
    settings.DIGEST_OVERDUE_DAYS = 3
    fae = Department.objects.get(code="FAE")
    xray = Department.objects.get(code="XRAY")
    fae_lead = SupervisorFactory(department=fae, email="fae@example.com", language="zh-hans")
    fae.supervisors.add(fae_lead)
    xray_lead = SupervisorFactory(department=xray, email="xray@example.com", language="en")
    xray.supervisors.add(xray_lead)
    return fae_lead, xray_lead


def test_each_supervisor_gets_their_departments_in_their_language(supervisors):
    incident_in(Stage.FAE_RETEST, days_in_stage=0.2, serial="NEW-FAE")
    incident_in(Stage.FINAL_RETEST, days_in_stage=5, serial="OLD-FAE")
    incident_in(Stage.FAE_RETEST, days_in_stage=1.5, step=Step.SUBMITTED, serial="REVIEW-FAE")
    incident_in(Stage.EE_ANALYSIS, days_in_stage=9, serial="NOT-MINE")

    call_command("send_digest")

    assert len(mail.outbox) == 1  # the X-ray lead has nothing to hear about
    message = mail.outbox[0]
    assert message.to == ["fae@example.com"]
    assert message.subject.startswith("[ADT] 每日摘要")
    body = message.body
    assert "NEW-FAE" in body and "OLD-FAE" in body and "REVIEW-FAE" in body
    assert "NOT-MINE" not in body
    assert "待审核" in body
    assert "/admin/incidents/incident/?work=review" in body


def test_an_english_reader_gets_english(supervisors):
    incident_in(Stage.XRAY, days_in_stage=4, serial="OLD-XRAY")

    call_command("send_digest")

    [message] = mail.outbox
    assert message.to == ["xray@example.com"]
    assert message.subject == "[ADT] Daily digest: X-ray lab"
    assert "1 incident in its stage for over 3 days" in message.body
