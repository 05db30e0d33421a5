"""The dashboard's period is bounded: dates outside a sane range name nothing (with a word
saying so), and a period longer than MAX_PERIOD is shortened, so one request can no longer loop
over centuries of weeks; the incident list's dashboard filter takes the same days."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents.dashboard import MAX_PERIOD, Scope, flow_period, outcomes_by_week
from tests.factories import AdminFactory, IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    client = Client()
    client.force_login(AdminFactory())
    return client


class PeriodBoundsTests:
    @pytest.mark.parametrize(
        "params",
        [
            {"opened_from": "0002-01-01", "opened_to": "9999-12-01"},
            {"opened_from": "0001-01-01"},
            {"opened_to": "9999-12-31"},
            {"opened_from": "1900-01-01", "opened_to": "2999-01-01"},
            {"opened_from": "2025-02-30"},
            {"opened_from": "x" * 5000},
            {"department": "9" * 40, "opened_from": "-1"},
        ],
    )
    def test_an_extreme_period_answers_at_once_with_a_word(self, client, params):
        IncidentFactory()

        response = client.get(reverse("admin:index"), params)

        assert response.status_code == 200
        assert len(response.content) < 2_000_000
        assert response.context["scope"].notices

    def test_a_period_longer_than_the_longest_is_shortened_from_its_end(self):
        scope = Scope.from_params({"opened_from": "2001-01-01", "opened_to": "2025-06-30"})

        start, end = flow_period(scope)

        assert end == datetime.date(2025, 6, 30)
        assert end - start == MAX_PERIOD
        assert "starts on" in str(scope.notices[0])
        # Every week the period touches is listed, a part week at either end included.
        assert len(outcomes_by_week(scope)) <= MAX_PERIOD.days // 7 + 2

    def test_a_period_from_long_ago_to_today_is_shortened_too(self):
        scope = Scope.from_params({"opened_from": "2000-01-01"})

        start, end = flow_period(scope)

        assert end == timezone.localdate()
        assert end - start == MAX_PERIOD

    def test_dates_given_the_wrong_way_round_are_swapped(self):
        scope = Scope.from_params({"opened_from": "2025-06-30", "opened_to": "2025-01-01"})

        assert (scope.opened_from, scope.opened_to) == ("2025-01-01", "2025-06-30")

    def test_the_notice_is_in_the_readers_language(self, client):
        page = client.get(
            reverse("admin:index"), {"opened_from": "0001-01-01"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
        )

        notice = page.content.decode()
        assert 'data-testid="dashboard-notice"' in notice
        assert "0001-01-01" in notice
        assert "The date" not in notice

    @pytest.mark.parametrize(
        "params",
        [
            {"opened_from": "0001-01-01", "opened_to": "9999-12-31"},
            {"closed_week": "9999-12-31"},
            {"location": "9" * 30},
            {"department": "18446744073709551616"},
        ],
    )
    def test_the_incident_lists_dashboard_filter_takes_extreme_values_without_error(
        self, client, params
    ):
        IncidentFactory()

        response = client.get(reverse("admin:incidents_incident_changelist"), params)

        assert response.status_code == 200
