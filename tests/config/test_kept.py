"""The sidebar's and the bell's figures kept between a person's pages (config/kit/kept.py): never
older than the data, whoever wrote it, committed or rolled back, and not counted again while
nothing was written."""

import re
import threading

import pytest
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django.urls import reverse

from config.kit.kept import database_version, kept_figure
from incidents.choices import Stage
from incidents.services import incident_assign
from tests.config.test_query_counts import client_for
from tests.incidents.test_workflow import build_team, open_incident

pytestmark = pytest.mark.postgres(reason="the database's version is PostgreSQL's")

DEPARTMENTS = reverse("admin:incidents_department_changelist")


def badge(client: Client, queue: str) -> int:
    """The count the sidebar shows beside one of the person's queues."""
    html = client.get(DEPARTMENTS).content.decode()
    link = re.search(rf'href="[^"]*\?work={queue}".*?data-badge="(\d+)"', html, re.S)
    assert link, f"no badge for {queue}"
    return int(link.group(1))


@pytest.fixture
def team(db):
    return build_team()


@pytest.fixture(autouse=True)
def figures_kept(settings):
    settings.KEPT_FIGURES = True


def test_the_demo_badge_goes_once_the_demo_people_are_gone(admin_user):
    """The header's "Demo data" is kept between pages too, and goes with the demo's people."""
    from fixtures.demo import demo_employees
    from incidents.models import Employee

    row = demo_employees()[0]
    demo_person = Employee.objects.create(username=row["username"], email=row["email"])
    client = client_for(admin_user)
    assert "Demo data" in client.get(DEPARTMENTS).content.decode()
    assert "Demo data" in client.get(DEPARTMENTS).content.decode()

    demo_person.delete()

    assert "Demo data" not in client.get(DEPARTMENTS).content.decode()


class Rollback(Exception):
    pass


@pytest.mark.django_db
class KeptFigureTests:
    def test_a_change_shows_on_the_next_page(self, team):
        supervisor = team.supervisor(Stage.REPORTED)
        client = client_for(supervisor)
        before = badge(client, "unassigned")
        assert badge(client, "unassigned") == before

        incident = open_incident(team, Stage.REPORTED)
        assert badge(client, "unassigned") == before + 1

        incident_assign(incident=incident, assignee=team.worker(Stage.REPORTED), by=supervisor)
        assert badge(client, "unassigned") == before
        assert badge(client_for(team.worker(Stage.REPORTED)), "mine") == 1

    def test_a_change_rolled_back_is_gone_from_the_next_page(self, team):
        client = client_for(team.supervisor(Stage.REPORTED))
        before = badge(client, "unassigned")

        with pytest.raises(Rollback), transaction.atomic():
            open_incident(team, Stage.REPORTED)
            # Counted with the change, inside its transaction: the figure kept has it.
            assert badge(client, "unassigned") == before + 1
            raise Rollback

        assert badge(client, "unassigned") == before

    def test_each_person_has_their_own_figures(self, team):
        open_incident(team, Stage.REPORTED)
        reported = client_for(team.supervisor(Stage.REPORTED))
        retest = client_for(team.supervisor(Stage.FAE_RETEST))

        assert badge(reported, "unassigned") == 1
        assert badge(retest, "unassigned") == 0
        assert badge(reported, "unassigned") == 1

    def test_nothing_is_counted_again_while_nothing_was_written(self, team):
        person = team.supervisor(Stage.REPORTED)
        counted = []

        def count() -> int:
            counted.append(1)
            return 7

        def page_figure() -> int:
            request = RequestFactory().get("/")
            request.user = person
            return kept_figure(request, "a figure of this test", count)

        # Other databases of the server (the suite's other processes) move the version too: two
        # pages with no write anywhere from before the first to after the second are what this
        # asserts on (the first may count: something may have been written before it).
        quiet_pairs = 0
        for _ in range(100):
            version = database_version()
            assert page_figure() == 7
            calls = len(counted)
            assert page_figure() == 7
            if database_version() == version:
                quiet_pairs += 1
                assert len(counted) == calls, "counted again with nothing written"
            if quiet_pairs >= 3:
                break
        assert quiet_pairs >= 1

    def test_a_write_of_this_transaction_moves_the_version(self, team):
        before = database_version()
        open_incident(team, Stage.REPORTED)
        assert database_version() != before


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class KeptAcrossConnectionsTests:
    def test_a_change_committed_by_another_connection_shows_on_the_next_page(self):
        team = build_team()
        client = client_for(team.supervisor(Stage.REPORTED))
        before = badge(client, "unassigned")

        def elsewhere():
            try:
                with transaction.atomic():
                    open_incident(team, Stage.REPORTED)
            finally:
                connection.close()

        other = threading.Thread(target=elsewhere)
        other.start()
        other.join(timeout=30)

        assert badge(client, "unassigned") == before + 1
