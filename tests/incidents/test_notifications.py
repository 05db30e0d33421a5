"""E-mails about an incident are written in the language each recipient reads the product in;
people who never chose one get the product's default language."""

import pytest
from django.utils import translation

from incidents.choices import Stage, Verdict
from incidents.services import incident_approve, incident_assign
from tests.incidents.test_workflow import build_team, open_incident, submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return build_team()


def mail_to(mailoutbox, person):
    [mail] = [mail for mail in mailoutbox if mail.to == [person.email]]
    return mail


class EmailLanguageTests:
    def test_one_event_reaches_a_chinese_and_an_english_reader_each_in_their_language(
        self, team, mailoutbox, django_capture_on_commit_callbacks
    ):
        worker = team.worker(Stage.FAE_RETEST)
        next_supervisor = team.supervisor(Stage.XRAY)
        worker.language, next_supervisor.language = "zh-hans", "en"
        worker.save()
        next_supervisor.save()
        incident = submitted(team, verdict=Verdict.FAIL)

        with django_capture_on_commit_callbacks(execute=True):
            incident_approve(incident=incident, by=team.supervisor(Stage.FAE_RETEST))

        chinese, english = mail_to(mailoutbox, worker), mail_to(mailoutbox, next_supervisor)
        assert f"已批准异常事件 #{incident.pk}" in chinese.subject
        assert f"已批准异常事件 #{incident.pk}" in chinese.body
        assert "approved" not in chinese.body
        assert f"approved incident #{incident.pk}; it is now X-ray inspection" in english.subject
        assert "已批准" not in english.body

    def test_the_language_of_the_request_that_caused_it_does_not_leak_into_the_e_mail(
        self, team, mailoutbox, django_capture_on_commit_callbacks
    ):
        worker = team.worker(Stage.FAE_RETEST)
        worker.language = "en"
        worker.save()
        incident = open_incident(team, Stage.FAE_RETEST)

        with translation.override("zh-hans"), django_capture_on_commit_callbacks(execute=True):
            incident_assign(incident=incident, assignee=worker, by=team.supervisor(incident.stage))

        assert f"assigned incident #{incident.pk} (FAE retest) to you" in mailoutbox[0].subject

    def test_someone_who_never_chose_a_language_gets_the_products_default(
        self, team, mailoutbox, django_capture_on_commit_callbacks, settings
    ):
        settings.LANGUAGE_CODE = "zh-hans"
        worker = team.worker(Stage.FAE_RETEST)
        assert worker.language == ""
        incident = open_incident(team, Stage.FAE_RETEST)

        with django_capture_on_commit_callbacks(execute=True):
            incident_assign(incident=incident, assignee=worker, by=team.supervisor(incident.stage))

        assert f"将异常事件 #{incident.pk}（FAE复测）指派给了您" in mailoutbox[0].subject
