"""Stage deadlines: each open incident's deadline from its stage entry and the working calendar,
the overdue ones marked on the lists and queues and counted on the home page, escalated once
per stage visit and level, listed in the digest; and the calendar's and targets' forms refusing
what cannot be kept, saying why."""

import datetime
import io
import re

from django.core import mail
from django.core.management import call_command
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from incidents.choices import ConfigChangeKind, Stage, TargetUnit, WorkflowAction
from incidents.models import (
    CalendarDay,
    ConfigChange,
    DeadlineCrossing,
    Department,
    Incident,
    Notification,
    StageOwnership,
    WorkCalendar,
)
from incidents.selectors.deadlines import deadlines_read, incidents_past_deadline
from incidents.services import incident_assign
from incidents.services.deadlines import deadlines_escalate
from tests.admin_pages import form_errors
from tests.config.test_hostile_forms import body_of
from tests.factories import AdminFactory, StaffFactory, SupervisorFactory
from tests.incidents.test_workflow import build_team, open_incident

NOW = timezone.now()
DAYS = datetime.timedelta(days=1)


def set_target(stage: Stage, target: int | None, unit: TargetUnit = TargetUnit.DAYS) -> None:
    StageOwnership.objects.filter(stage=stage).update(target=target, target_unit=unit)


def entered(incident: Incident, at: datetime.datetime, *, known: bool = True) -> Incident:
    Incident.objects.filter(pk=incident.pk).update(stage_entered_at=at, stage_entered_known=known)
    incident.refresh_from_db()
    return incident


class DeadlineTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        set_target(Stage.XRAY, 2)
        cls.team = build_team()
        cls.late = cls._xray(NOW - 30 * DAYS)
        cls.fresh = cls._xray(NOW)
        cls.unknown = entered(open_incident(cls.team, Stage.XRAY), NOW - 30 * DAYS, known=False)
        # No target in EE analysis: no deadline however long it waits.
        cls.untimed = entered(open_incident(cls.team, Stage.EE_ANALYSIS), NOW - 300 * DAYS)

    @classmethod
    def _xray(cls, at):
        incident = open_incident(cls.team, Stage.XRAY)
        incident = incident_assign(
            incident=incident,
            assignee=cls.team.worker(Stage.XRAY),
            by=cls.team.supervisor(Stage.XRAY),
        )
        return entered(incident, at)

    def test_a_deadline_counts_the_targets_working_days(self):
        deadlines = deadlines_read()
        deadline = deadlines.deadline(self.fresh)
        # Two working days of 9 hours: never before 18 hours, at most two weekend days more.
        assert NOW + datetime.timedelta(hours=18) <= deadline <= NOW + 5 * DAYS
        assert deadlines.deadline(self.late) < NOW

    def test_no_target_or_an_unknown_stage_age_is_no_deadline(self):
        deadlines = deadlines_read()
        assert deadlines.deadline(self.unknown) is None
        assert deadlines.deadline(self.untimed) is None

    def test_only_incidents_past_their_deadline_are_overdue(self):
        assert list(incidents_past_deadline().values_list("pk", flat=True)) == [self.late.pk]

    def test_hours_count_working_hours(self):
        set_target(Stage.XRAY, 400, TargetUnit.HOURS)
        # 400 working hours are over 44 working days: the late one is not late any more.
        assert not incidents_past_deadline().exists()

    def test_holidays_push_the_deadline_back(self):
        start = timezone.make_aware(datetime.datetime(2026, 12, 4, 17, 0))  # a Friday
        incident = entered(self.fresh, start)
        before = deadlines_read().deadline(incident)
        CalendarDay.objects.create(day=datetime.date(2026, 12, 7))  # Monday off
        after = deadlines_read().deadline(incident)
        assert timezone.localtime(before).date() == datetime.date(2026, 12, 8)
        assert timezone.localtime(after).date() == datetime.date(2026, 12, 9)
        # In the factory's zone: half an hour on Friday, nine on Tuesday, eight and a half on
        # Wednesday.
        assert timezone.localtime(after).time() == datetime.time(17, 0)


class EscalationTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        set_target(Stage.XRAY, 1)
        cls.team = build_team()
        cls.admin = cls.team.admin
        cls.incident = open_incident(cls.team, Stage.XRAY)
        cls.incident = incident_assign(
            incident=cls.incident,
            assignee=cls.team.worker(Stage.XRAY),
            by=cls.team.supervisor(Stage.XRAY),
        )
        cls.xray = Department.objects.get(code="XRAY")
        cls.second_supervisor = SupervisorFactory(department=cls.xray)
        cls.xray.supervisors.add(cls.second_supervisor)
        Notification.objects.all().delete()

    def told(self, action):
        return set(
            Notification.objects.filter(action=action, incident=self.incident).values_list(
                "recipient", flat=True
            )
        )

    def test_at_the_deadline_the_assignee_and_the_assigning_supervisor_are_told_once(self):
        deadline = deadlines_read().deadline(self.incident)
        assert deadlines_escalate(now=deadline - datetime.timedelta(seconds=1)) == 0

        assert deadlines_escalate(now=deadline) == 1
        assert deadlines_escalate(now=deadline) == 0

        assert self.told(WorkflowAction.OVERDUE) == {
            self.team.worker(Stage.XRAY).pk,
            self.team.supervisor(Stage.XRAY).pk,
        }
        assert not self.told(WorkflowAction.ESCALATE)
        notification = Notification.objects.filter(action=WorkflowAction.OVERDUE).first()
        assert "past its deadline" in notification.text

    def test_a_working_day_later_the_supervisors_and_the_administrators_are_told(self):
        deadlines = deadlines_read()
        second = deadlines.deadline(self.incident, DeadlineCrossing.SECOND)
        assert second - deadlines.deadline(self.incident) >= datetime.timedelta(hours=9)

        assert deadlines_escalate(now=second) == 2
        assert deadlines_escalate(now=second + 10 * DAYS) == 0

        assert self.told(WorkflowAction.ESCALATE) == {
            self.team.supervisor(Stage.XRAY).pk,
            self.second_supervisor.pk,
            self.admin.pk,
        }
        assert DeadlineCrossing.objects.filter(incident=self.incident).count() == 2

    def test_unassigned_the_departments_supervisors_are_told_at_the_deadline(self):
        incident = entered(open_incident(self.team, Stage.XRAY), NOW - 3 * DAYS)
        deadline = deadlines_read().deadline(incident)
        deadlines_escalate(now=deadline)
        told = set(
            Notification.objects.filter(
                action=WorkflowAction.OVERDUE, incident=incident
            ).values_list("recipient", flat=True)
        )
        assert told == {self.team.supervisor(Stage.XRAY).pk, self.second_supervisor.pk}

    def test_a_new_visit_of_the_stage_is_a_new_crossing(self):
        deadline = deadlines_read().deadline(self.incident)
        deadlines_escalate(now=deadline)
        again = entered(self.incident, self.incident.stage_entered_at + datetime.timedelta(hours=1))
        assert deadlines_escalate(now=deadlines_read().deadline(again)) == 1
        visits = DeadlineCrossing.objects.filter(incident=self.incident, level=1)
        assert visits.count() == 2
        assert len({crossing.stage_entered_at for crossing in visits}) == 2

    def test_an_unknown_stage_age_is_never_escalated(self):
        entered(self.incident, NOW - 90 * DAYS, known=False)
        assert deadlines_escalate(now=NOW) == 0

    def test_the_command_tells_and_the_digest_lists_them(self):
        entered(self.incident, NOW - 30 * DAYS)
        self.team.supervisor(Stage.XRAY).email = "xray@example.com"
        self.team.supervisor(Stage.XRAY).save()
        call_command("escalate_deadlines", stdout=io.StringIO())
        assert DeadlineCrossing.objects.filter(incident=self.incident).count() == 2

        mail.outbox.clear()
        call_command("send_digest", stdout=io.StringIO())
        digest = next(m for m in mail.outbox if m.to == ["xray@example.com"])
        assert "1 incident past its stage's deadline" in digest.body
        assert self.incident.device.serial_number in digest.body


def overdue_card(page: str) -> tuple[str, int]:
    found = re.search(
        r'<a href="([^"]+)"[^>]*data-figure="overdue"><span>[^<]*</span><strong>(\d+)</strong>',
        page,
    )
    assert found, "no overdue card"
    return found.group(1).replace("&amp;", "&"), int(found.group(2))


class ListTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        set_target(Stage.XRAY, 2)
        cls.team = build_team()
        cls.worker = cls.team.worker(Stage.XRAY)
        cls.late, cls.fresh = (
            entered(
                incident_assign(
                    incident=open_incident(cls.team, Stage.XRAY),
                    assignee=cls.worker,
                    by=cls.team.supervisor(Stage.XRAY),
                ),
                at,
            )
            for at in (NOW - 30 * DAYS, NOW)
        )
        cls.changelist = reverse("admin:incidents_incident_changelist")

    def page(self, person, query=""):
        client = Client()
        client.force_login(person)
        response = client.get(self.changelist + query)
        assert response.status_code == 200
        return response

    def shown(self, response) -> set[int]:
        return {incident.pk for incident in response.context["cl"].result_list}

    def test_the_list_marks_the_overdue_and_filters_them(self):
        response = self.page(self.team.admin)
        text = response.content.decode()
        assert text.count("Overdue since") == 1
        assert self.shown(self.page(self.team.admin, "?overdue=1")) == {self.late.pk}
        assert self.late.pk not in self.shown(self.page(self.team.admin, "?overdue=0"))
        assert self.fresh.pk in self.shown(self.page(self.team.admin, "?overdue=0"))

    def test_the_queue_marks_them_too(self):
        response = self.page(self.worker, "?work=mine")
        assert self.shown(response) == {self.late.pk, self.fresh.pk}
        assert response.content.decode().count("Overdue since") == 1

    def test_the_home_page_counts_them_and_links_to_them(self):
        client = Client()
        client.force_login(self.team.admin)
        url, count = overdue_card(client.get(reverse("admin:index")).content.decode())
        assert count == 1
        listed = client.get(url)
        assert {i.pk for i in listed.context["cl"].result_list} == {self.late.pk}

    def test_someone_who_may_not_see_the_project_is_not_counted_it(self):
        outsider = StaffFactory(department=Department.objects.get(code="EE"))
        client = Client()
        client.force_login(outsider)
        _url, count = overdue_card(client.get(reverse("admin:index")).content.decode())
        # The incidents' project is open to everyone here: counted for all.
        assert count == 1


class CalendarFormTests(TestCase):
    """What administrators type in the calendar, the days and the targets, and what is refused
    (a page shown again with the reason, never a 5xx)."""

    @classmethod
    def setUpTestData(cls):
        cls.admin = AdminFactory()
        cls.supervisor = SupervisorFactory()

    def setUp(self):
        self.client = Client()
        self.client.force_login(self.admin)

    def post_calendar(self, **fields):
        data = {"weekdays": ["0", "1", "2", "3", "4"], "day_start": "08:30", "day_end": "17:30"}
        data.update(fields)
        body, content_type = body_of(data, {})
        url = reverse("admin:incidents_workcalendar_change", args=[1])
        return self.client.post(url, body, content_type=content_type)

    def test_the_list_opens_the_one_calendar_with_its_defaults(self):
        response = self.client.get(reverse("admin:incidents_workcalendar_changelist"))
        assert response.status_code == 302
        page = self.client.get(response["Location"])
        assert page.status_code == 200
        assert 'value="08:30' in page.content.decode()

    def test_a_calendar_is_saved(self):
        response = self.post_calendar(weekdays=["0", "1", "2", "3", "4", "5"], day_end="18:00")
        assert response.status_code == 302, response.content.decode()[:2000]
        week = WorkCalendar.objects.get()
        assert week.weekdays == "012345"
        assert week.day_end == datetime.time(18, 0)
        assert deadlines_read().calendar.day_length == datetime.timedelta(hours=9, minutes=30)

    def test_hostile_calendars_are_refused_with_the_reason(self):
        cases = {
            "ends after it starts": {"day_start": "18:00", "day_end": "08:00"},
            "ends after it starts ": {"day_start": "09:00", "day_end": "09:00"},
            "Choose at least one working weekday": {"weekdays": []},
            "Select a valid choice": {"weekdays": ["9"]},
            "Enter a valid time": {"day_start": "25:99"},
            "Enter a valid time ": {"day_end": "\x00"},
            "Select a valid choice ": {"weekdays": ["\ud800"]},
            "Enter a valid time  ": {"day_start": "9" * 5000},
        }
        for said, fields in cases.items():
            response = self.post_calendar(**fields)
            assert response.status_code in (200, 400), (said, response.status_code)
            if response.status_code == 200:
                assert said.strip() in response.content.decode(), (said, form_errors(response))
        assert not WorkCalendar.objects.exists()

    def post_day(self, **fields):
        data = {"day": "2026-10-01", "working": "", "note": "National Day"}
        data.update(fields)
        return self.client.post(reverse("admin:incidents_calendarday_add"), data)

    def test_a_holiday_is_saved(self):
        assert self.post_day().status_code == 302
        assert CalendarDay.objects.get().day == datetime.date(2026, 10, 1)

    def test_hostile_days_are_refused_with_the_reason(self):
        cases = {
            "Enter a valid date": {"day": "2026-02-30"},
            "Enter a valid date ": {"day": "99999-01-01"},
            "not between 2000-01-01 and 2100-12-31": {"day": "1900-01-01"},
            "not between 2000-01-01 and 2100-12-31 ": {"day": "2101-01-01"},
            "Enter a valid date  ": {"day": "\x00"},
            "not text": {"note": "a\x00b"},
            "at most 100 characters": {"note": "x" * 10_000},
            "This field is required": {"day": ""},
        }
        for said, fields in cases.items():
            response = self.post_day(**fields)
            assert response.status_code in (200, 400), (said, response.status_code)
            if response.status_code == 200:
                assert said.strip() in response.content.decode(), (said, form_errors(response))
        self.post_day()
        assert "already exists" in self.post_day().content.decode()
        assert CalendarDay.objects.count() == 1

    def test_the_calendar_is_for_administrators_only(self):
        client = Client()
        client.force_login(self.supervisor)
        for url in (
            reverse("admin:incidents_workcalendar_change", args=[1]),
            reverse("admin:incidents_calendarday_changelist"),
        ):
            assert client.get(url).status_code == 403, url

    def post_target(self, **fields):
        ownership = StageOwnership.objects.get(stage=Stage.XRAY)
        data = {
            "stage": ownership.stage,
            "department": ownership.department_id,
            "work_location": "",
            "target": "2",
            "target_unit": "days",
        }
        data.update(fields)
        url = reverse("admin:incidents_stageownership_change", args=[ownership.pk])
        return self.client.post(url, data)

    def test_a_target_is_saved_and_shown(self):
        assert self.post_target(target="16", target_unit="hours").status_code == 302
        assert StageOwnership.objects.get(stage=Stage.XRAY).target == 16
        # Kept in the configuration's audit trail, naming who set it.
        change = ConfigChange.objects.filter(kind=ConfigChangeKind.STAGE_OWNERSHIP).latest("pk")
        assert (change.by, change.after) == (self.admin, {"target": "16 hours"})
        page = self.client.get(reverse("admin:incidents_stageownership_changelist"))
        assert "16 working hours" in page.content.decode()
        assert "no deadline" in page.content.decode()

    def test_hostile_targets_are_refused_with_the_reason(self):
        cases = {
            "at most a working year: 260 working days": {"target": "261"},
            "at most a working year: 2500 working hours": {
                "target": "2501",
                "target_unit": "hours",
            },
            "at most a working year: 260 working days ": {"target": "0"},
            "Ensure this value is greater than or equal to 0": {"target": "-1"},
            "Enter a whole number": {"target": "abc"},
            "at most a working year:": {"target": str(10**30)},
            "Select a valid choice": {"target_unit": "weeks"},
            "Enter a whole number ": {"target": "1\x00"},
        }
        for said, fields in cases.items():
            response = self.post_target(**fields)
            assert response.status_code in (200, 400), (said, response.status_code)
            if response.status_code == 200:
                assert said.strip() in response.content.decode(), (said, form_errors(response))
        assert StageOwnership.objects.get(stage=Stage.XRAY).target is None
