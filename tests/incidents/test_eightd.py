"""A problem group's 8D report: its owner (or an administrator) writes the eight disciplines with
their dates, on the group's page or through the service, and everyone else is refused; the
report exports as a PDF whose Chinese text extracts back and as an XLSX, with the group's
incidents as the evidence, for whoever may see the group and nobody else."""

import io
from datetime import date, datetime

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format

from incidents.choices import Stage
from incidents.models import EightD
from incidents.services import WorkflowError, eightd_update
from tests.admin_pages import form_data
from tests.factories import (
    AdminFactory,
    EmployeeFactory,
    ProblemGroupFactory,
    StaffFactory,
    SupervisorFactory,
)
from tests.incidents.test_report_jobs import fetch_report
from tests.incidents.test_reports import chinese_client, pdf_text
from tests.incidents.test_workflow import assigned, build_team

pytestmark = pytest.mark.django_db

WRITTEN = {
    "team": "王工（FAE）、李工（EE）",
    "team_date": date(2025, 3, 3),
    "problem": "蓝牙信号弱，3号站复测仍失败",
    "problem_date": date(2025, 3, 4),
    "containment": "隔离同批次主板",
    "containment_date": date(2025, 3, 5),
    "root_cause": "屏蔽罩焊接不良",
    "root_cause_date": date(2025, 3, 10),
    "corrective_action": "调整回流焊温度曲线",
    "corrective_action_date": date(2025, 3, 12),
    "verification": "试产200台全部通过",
    "verification_date": date(2025, 3, 20),
    "prevention": "更新焊接作业指导书",
    "prevention_date": date(2025, 3, 25),
    "closure": "问题关闭，感谢团队",
    "closure_date": date(2025, 3, 31),
}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner():
    return StaffFactory(display_name="Wang Owner")


@pytest.fixture
def group(owner):
    return ProblemGroupFactory(title="弱信号", owner=owner)


# --- the service ---------------------------------------------------------------------------------
class EightDUpdateTests:
    def test_the_owner_writes_the_disciplines_and_the_history_names_them(self, group, owner):
        eightd = eightd_update(group=group, by=owner, **WRITTEN)

        eightd.refresh_from_db()
        assert {name: getattr(eightd, name) for name in EightD.FIELDS} == WRITTEN
        assert eightd.history.get().history_user == owner

    def test_the_owner_changes_one_discipline_and_keeps_the_others(self, group, owner):
        eightd_update(group=group, by=owner, **WRITTEN)

        eightd = eightd_update(group=group, by=owner, root_cause="焊锡空洞")

        assert eightd.root_cause == "焊锡空洞"
        assert eightd.team == WRITTEN["team"]
        assert EightD.objects.count() == 1
        assert eightd.history.count() == 2

    def test_the_disciplines_come_in_their_order_with_labels_and_dates(self, group, owner):
        eightd = eightd_update(group=group, by=owner, **WRITTEN)

        disciplines = eightd.disciplines()

        assert [d.code for d in disciplines] == [f"D{n}" for n in range(1, 9)]
        assert [str(d.label) for d in disciplines] == [
            "D1 Team",
            "D2 Problem description",
            "D3 Containment",
            "D4 Root cause",
            "D5 Corrective action",
            "D6 Verification",
            "D7 Prevention",
            "D8 Closure",
        ]
        assert disciplines[3].text == "屏蔽罩焊接不良"
        assert disciplines[7].date == date(2025, 3, 31)

    def test_an_administrator_writes_it_even_for_a_group_with_no_owner(self):
        group = ProblemGroupFactory()

        eightd_update(group=group, by=AdminFactory(), team="QA")

        assert EightD.objects.get(group=group).team == "QA"

    def test_a_supervisor_who_does_not_own_the_group_is_refused_and_nothing_is_written(self, group):
        with pytest.raises(WorkflowError) as refused:
            eightd_update(group=group, by=SupervisorFactory(), **WRITTEN)

        assert "Wang Owner" in refused.value.message
        assert group.number in refused.value.message
        assert not EightD.objects.exists()

    def test_a_group_without_an_owner_says_who_names_one(self):
        group = ProblemGroupFactory()

        with pytest.raises(WorkflowError, match="has no owner yet"):
            eightd_update(group=group, by=StaffFactory(), team="QA")

    def test_an_owner_without_the_permission_to_write_8d_reports_is_refused(self):
        no_role = EmployeeFactory()
        group = ProblemGroupFactory(owner=no_role)

        with pytest.raises(WorkflowError, match="You may not write 8D reports"):
            eightd_update(group=group, by=no_role, team="QA")

    def test_the_owner_checked_is_the_owner_now_not_the_one_first_read(self, group, owner):
        successor = StaffFactory()
        stale = type(group).objects.get(pk=group.pk)
        group.owner = successor
        group.save()

        with pytest.raises(WorkflowError):
            eightd_update(group=stale, by=owner, team="too late")
        eightd_update(group=stale, by=successor, team="the new owner")

        assert EightD.objects.get(group=group).team == "the new owner"

    def test_a_name_that_is_not_a_discipline_is_an_error(self, group, owner):
        with pytest.raises(TypeError):
            eightd_update(group=group, by=owner, group_id=1)


# --- the problem group's page --------------------------------------------------------------------
def change_url(group) -> str:
    return reverse("admin:incidents_problemgroup_change", args=[group.pk])


def page_form(client: Client, group) -> dict:
    response = client.get(change_url(group))
    assert response.status_code == 200
    return form_data(response.content.decode(), form_id="problemgroup_form")


def with_eightd(data: dict, **values) -> dict:
    """The page's form with the 8D tab filled in (dates as the date inputs take them)."""
    filled = {
        f"eightd-0-{name}": value.isoformat() if isinstance(value, date) else value
        for name, value in values.items()
    }
    return {**data, **filled, "_save": "Save"}


class EightDAdminTests:
    def test_the_owner_fills_the_8d_tab_and_saves_it(self, group, owner):
        client = client_for(owner)
        data = page_form(client, group)
        assert "eightd-0-team" in data

        response = client.post(change_url(group), with_eightd(data, **WRITTEN))

        assert response.status_code == 302, response.content.decode()[:2000]
        eightd = EightD.objects.get(group=group)
        assert {name: getattr(eightd, name) for name in EightD.FIELDS} == WRITTEN
        assert eightd.history.get().history_user == owner

    def test_the_owner_who_may_not_change_groups_cannot_change_the_group_itself(self, group, owner):
        client = client_for(owner)
        data = page_form(client, group)

        assert "title" not in data and "owner" not in data
        client.post(
            change_url(group), with_eightd({**data, "title": "Renamed", "owner": ""}, team="QA")
        )

        group.refresh_from_db()
        assert (group.title, group.owner) == ("弱信号", owner)
        assert group.history.count() == 1
        assert EightD.objects.get(group=group).team == "QA"

    def test_a_supervisor_names_the_owner(self, group):
        supervisor = SupervisorFactory()
        successor = StaffFactory()
        client = client_for(supervisor)

        response = client.post(
            change_url(group), {**page_form(client, group), "owner": successor.pk, "_save": "Save"}
        )

        assert response.status_code == 302
        group.refresh_from_db()
        assert group.owner == successor

    def test_a_supervisor_who_is_not_the_owner_is_refused_through_the_admin_post(self, group):
        supervisor = SupervisorFactory()
        client = client_for(supervisor)
        # What the owner's page posts, sent by the supervisor.
        data = with_eightd(page_form(client_for(AdminFactory()), group), **WRITTEN)

        response = client.post(change_url(group), {**data, "title": "Renamed"}, follow=True)

        assert not EightD.objects.filter(group=group).exists()
        group.refresh_from_db()
        assert group.title == "弱信号"
        said = [str(message) for message in response.context["messages"]]
        assert said == [
            f"Only the owner of problem group {group.number} (Wang Owner) or an administrator "
            "writes its 8D report. Nothing on the page was saved."
        ]

    def test_an_owner_replaced_while_the_page_was_open_is_told_nothing_was_saved(self, group):
        supervisor = SupervisorFactory()
        group.owner = supervisor
        group.save()
        eightd_update(group=group, by=supervisor, **WRITTEN)
        data = page_form(client_for(supervisor), group)
        group.owner = StaffFactory()
        group.save()

        response = client_for(supervisor).post(
            change_url(group), with_eightd(data, team="Rewritten"), follow=True
        )

        assert EightD.objects.get(group=group).team == WRITTEN["team"]
        said = " ".join(str(message) for message in response.context["messages"])
        assert "Nothing on the page was saved." in said

    @pytest.mark.parametrize("language", ["en", "zh-hans"])
    def test_a_supervisor_saving_the_group_with_the_8d_unchanged_is_not_refused(
        self, group, owner, language
    ):
        eightd_update(group=group, by=owner, **WRITTEN)
        # The owner's page as it was shown, dates in the reader's format, lines as browsers
        # send them.
        shown = client_for(owner).get(change_url(group), HTTP_ACCEPT_LANGUAGE=language)
        data = form_data(shown.content.decode(), form_id="problemgroup_form")
        data = {key: value.replace("\n", "\r\n") for key, value in data.items()}
        supervisor = SupervisorFactory()
        client = client_for(supervisor)

        response = client.post(
            change_url(group),
            {**data, **page_form(client, group), "title": "Renamed", "_save": "Save"},
            HTTP_ACCEPT_LANGUAGE=language,
            follow=True,
        )

        group.refresh_from_db()
        assert group.title == "Renamed"
        assert not [m for m in response.context["messages"] if m.level_tag == "error"]

    def test_the_8d_is_shown_read_only_to_others_who_may_see_the_group(self, group, owner):
        eightd_update(group=group, by=owner, **WRITTEN)
        client = client_for(StaffFactory())

        page = client.get(change_url(group)).content.decode()

        assert 'name="eightd-0-root_cause"' not in page
        assert "屏蔽罩焊接不良" in page
        assert "Wang Owner" in page

    def test_before_the_owner_writes_it_nobody_else_gets_a_form_to_fill(self, group):
        for person in (StaffFactory(), SupervisorFactory()):
            page = client_for(person).get(change_url(group)).content.decode()

            assert 'name="eightd-0-team"' not in page
            assert "Wang Owner" in page

    def test_the_add_page_has_no_8d_tab(self):
        page = client_for(AdminFactory()).get(reverse("admin:incidents_problemgroup_add"))

        assert "eightd-" not in page.content.decode()

    def test_staff_who_do_not_own_the_group_cannot_post_its_page(self, group):
        client = client_for(StaffFactory())
        data = with_eightd(page_form(client_for(AdminFactory()), group), team="Mine now")

        assert client.post(change_url(group), data).status_code == 403
        assert not EightD.objects.exists()

    def test_the_page_links_the_8d_report_next_to_the_failure_analysis_report(self, group):
        page = client_for(StaffFactory()).get(change_url(group)).content.decode()

        for kind in ("pdf", "xlsx"):
            assert reverse("problem_group_eightd_report", args=[group.pk, kind]) in page
            assert reverse("problem_group_report", args=[group.pk, kind]) in page


# --- the exports ---------------------------------------------------------------------------------
@pytest.fixture
def evidence(group, owner):
    """The group's 8D written by its owner, with two FAE retests as its evidence."""
    team = build_team()
    incidents = [assigned(team, Stage.FAE_RETEST) for _ in range(2)]
    for incident in incidents:
        incident.problem_group = group
        incident.save(update_fields=["problem_group"])
    eightd_update(group=group, by=owner, **WRITTEN)
    return team, incidents


class EightDReportTests:
    def test_the_pdf_has_the_eight_disciplines_with_their_dates_and_the_evidence_in_chinese(
        self, group, evidence
    ):
        team, incidents = evidence
        client = chinese_client(team.supervisor(Stage.FAE_RETEST))

        response = fetch_report(
            client, reverse("problem_group_eightd_report", args=[group.pk, "pdf"])
        )

        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert f"8D-report-{group.number}.pdf" in response["Content-Disposition"]
        text, _images = pdf_text(response.content)
        sections = [text.index(WRITTEN[name]) for name in EightD.DISCIPLINES]
        assert sections == sorted(sections)
        assert all(f"D{n}" in text for n in range(1, 9))
        with translation.override("zh-hans"):
            dates = [date_format(WRITTEN[f"{name}_date"]) for name in EightD.DISCIPLINES]
        for expected in (
            group.number,
            "弱信号",
            "问题组",
            "Wang Owner",
            *dates,
            "证据",
            *(incident.device.serial_number for incident in incidents),
            "FAE复测",
        ):
            assert expected in text, expected

    def test_the_xlsx_holds_the_disciplines_and_the_evidence(self, group, evidence):
        team, incidents = evidence
        client = client_for(team.supervisor(Stage.FAE_RETEST))

        response = client.get(reverse("problem_group_eightd_report", args=[group.pk, "xlsx"]))

        assert response.status_code == 200
        book = openpyxl.load_workbook(io.BytesIO(response.content))
        assert book.sheetnames == ["Summary", "8D", "Evidence"]
        summary = dict(book["Summary"].iter_rows(values_only=True))
        assert summary["Owner"] == "Wang Owner"
        rows = list(book["8D"].iter_rows(values_only=True))
        assert rows[0] == ("Discipline", "Date", "What was done")
        assert [row[0] for row in rows[1:]] == [str(d.label) for d in EightD().disciplines()]
        # A date cell (openpyxl reads one back as a datetime at midnight).
        assert rows[4][1:] == (datetime(2025, 3, 10), "屏蔽罩焊接不良")
        evidence_rows = list(book["Evidence"].iter_rows(values_only=True))[1:]
        assert [(row[0], row[1]) for row in evidence_rows] == [
            (f"#{incident.pk}", incident.device.serial_number) for incident in incidents
        ]

    def test_a_group_whose_8d_is_not_written_yet_exports_the_empty_disciplines(self):
        group = ProblemGroupFactory()
        client = client_for(StaffFactory())

        pdf = fetch_report(client, reverse("problem_group_eightd_report", args=[group.pk, "pdf"]))
        xlsx = client.get(reverse("problem_group_eightd_report", args=[group.pk, "xlsx"]))

        assert pdf.status_code == xlsx.status_code == 200
        assert "D8 Closure" in pdf_text(pdf.content)[0]
        rows = list(openpyxl.load_workbook(io.BytesIO(xlsx.content))["8D"].values)
        assert len(rows) == 9 and all(row[1:] == (None, None) for row in rows[1:])
        assert not EightD.objects.exists()

    def test_someone_who_may_not_see_the_group_gets_no_8d_report(self, group, evidence):
        stranger = client_for(EmployeeFactory(is_staff=True))

        for kind in ("pdf", "xlsx"):
            url = reverse("problem_group_eightd_report", args=[group.pk, kind])
            assert stranger.get(url).status_code == 403
            assert Client().get(url).status_code == 302

    def test_unknown_formats_and_groups_are_not_found(self, group):
        client = client_for(AdminFactory())

        assert client.get(f"/admin/incidents/problemgroup/{group.pk}/8d.docx").status_code == 404
        assert client.get("/admin/incidents/problemgroup/abc/8d.pdf").status_code == 404
        assert client.get("/admin/incidents/problemgroup/999999/8d.pdf").status_code == 404
