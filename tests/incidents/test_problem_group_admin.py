"""A problem group's creation time is a fact of when it was made: set then, shown on its page,
never changed by a form, and the dashboard's "open for" of the group reads it."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.choices import Stage
from incidents.models import ProblemGroup
from tests.admin_pages import form_data
from tests.factories import AdminFactory, ProblemGroupFactory
from tests.incidents.test_workflow import assigned, build_team
from tests.incidents.test_workflow_admin import client_for

pytestmark = pytest.mark.django_db

ADD = reverse("admin:incidents_problemgroup_add")
LONG_AGO = "2020-01-01 08:00:00"


def change_url(group) -> str:
    return reverse("admin:incidents_problemgroup_change", args=[group.pk])


def test_a_new_group_is_created_now_whatever_the_form_posts():
    client = client_for(AdminFactory())
    data = form_data(client.get(ADD).content.decode(), form_id="problemgroup_form")
    before = timezone.now()

    response = client.post(
        ADD,
        {
            **data,
            "number": "BUG-2026-0001",
            "created_at_0": "2020-01-01",
            "created_at_1": "08:00:00",
            "created_at": LONG_AGO,
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    group = ProblemGroup.objects.get(number="BUG-2026-0001")
    assert before <= group.created_at <= timezone.now()


def test_the_page_shows_the_creation_time_and_offers_no_field_to_change_it():
    group = ProblemGroupFactory(title="弱信号")
    made = group.created_at
    client = client_for(AdminFactory())
    page = client.get(change_url(group)).content.decode()

    assert 'name="created_at' not in page
    assert "Created at" in page
    data = form_data(page, form_id="problemgroup_form")
    response = client.post(
        change_url(group),
        {**data, "created_at": LONG_AGO, "created_at_0": "2020-01-01", "_save": "Save"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    group.refresh_from_db()
    assert group.created_at == made


def test_an_import_that_knows_when_the_group_was_made_keeps_that_moment():
    then = timezone.now() - timedelta(days=400)

    group = ProblemGroup.objects.create(number="BUG-2025-0007", created_at=then)

    group.refresh_from_db()
    assert group.created_at == then


def test_the_dashboard_says_how_long_a_group_has_been_open_from_its_creation_time():
    team = build_team()
    group = ProblemGroupFactory(title="弱信号")
    ProblemGroup.objects.filter(pk=group.pk).update(
        created_at=timezone.now() - timedelta(days=12, hours=1)
    )
    incident = assigned(team, Stage.FAE_RETEST)
    incident.problem_group = group
    incident.save(update_fields=["problem_group"])

    html = client_for(team.worker(Stage.FAE_RETEST)).get("/admin/").content.decode()

    panel = re.search(r'data-testid="dashboard-groups".*?</table>', html, re.S).group(0)
    row = re.search(rf"<tr><th><a [^>]*>{re.escape(str(group))}</a>.*?</tr>", panel).group(0)
    assert re.search(r"<td>1\xa0week, 5\xa0days</td>", row), row
