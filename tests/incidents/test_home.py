"""The top of the admin home: each person's own work first, supervisors' department load,
administrators' configuration problems; each number equal to the list its link opens."""

import pytest
from django.test import Client

from incidents.choices import Stage
from incidents.models import StageOwnership
from incidents.services import incident_reject, incident_submit
from incidents.services.records import analysis_result_add, operation_record_add
from tests.incidents.test_dashboard import figure_links
from tests.incidents.test_workflow import assigned, build_team

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def sent_back(team):
    incident = assigned(team, Stage.FAE_RETEST)
    worker = team.worker(Stage.FAE_RETEST)
    operation_record_add(incident=incident, by=worker, action="Retest")
    analysis_result_add(incident=incident, by=worker, verdict="fail", findings="Still fails")
    incident = incident_submit(incident=incident, by=worker)
    return incident_reject(incident=incident, by=team.supervisor(Stage.FAE_RETEST), reason="Redo")


def test_staff_see_their_queues_and_what_was_sent_back_each_linking_to_its_list():
    team = build_team()
    sent_back(team)
    assigned(team, Stage.FAE_RETEST)
    client = signed_in(team.worker(Stage.FAE_RETEST))

    links = figure_links(client.get("/admin/").content.decode())

    assert links["queue-mine"][1] == 2
    assert links["sent-back"][1] == 1
    for name in ("queue-mine", "queue-review", "queue-unassigned", "sent-back"):
        url, shown = links[name]
        assert client.get(url).context["cl"].result_count == shown, name


def test_supervisors_see_the_load_of_each_person_of_their_department():
    team = build_team()
    assigned(team, Stage.FAE_RETEST)
    page = signed_in(team.supervisor(Stage.FAE_RETEST)).get("/admin/")

    loads = page.context["home"]["departments"][0]["load"]
    assert {row["person"]: row["count"] for row in loads}[team.worker(Stage.FAE_RETEST)] == 1
    assert 'data-testid="department-load"' in page.content.decode()


def test_administrators_see_a_stage_without_owner_and_staff_do_not():
    team = build_team()
    StageOwnership.objects.filter(stage=Stage.XRAY).delete()

    admin_page = signed_in(team.admin).get("/admin/").content.decode()
    staff_page = signed_in(team.worker(Stage.FAE_RETEST)).get("/admin/").content.decode()

    assert "No department owns the stage “X-ray inspection”" in admin_page
    assert 'data-testid="admin-home"' not in staff_page


def test_problem_groups_are_named_on_the_dashboard_only_to_those_who_see_them():
    from django.contrib.auth.models import Group

    from incidents.capabilities import CapabilityCode, permissions_of
    from incidents.selectors import permissions_named
    from tests.factories import EmployeeFactory

    role = Group.objects.create(name="Reporter")
    role.permissions.set(permissions_named(permissions_of([CapabilityCode.OPEN_INCIDENTS])))
    reporter = EmployeeFactory()
    reporter.groups.set([role])
    team = build_team()

    for_reporter = signed_in(reporter).get("/admin/")
    for_staff = signed_in(team.worker(Stage.FAE_RETEST)).get("/admin/")

    assert for_reporter.status_code == for_staff.status_code == 200
    assert 'data-testid="dashboard-groups"' not in for_reporter.content.decode()
    assert 'data-testid="dashboard-groups"' in for_staff.content.decode()
