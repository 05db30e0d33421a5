"""The lists' from-to filters on a date and time: a date alone is a whole day, the bounds are the
factory's local times, and a bound that cannot be read is said, not dropped."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from incidents.models import Incident
from tests.factories import IncidentFactory, SupervisorFactory

pytestmark = pytest.mark.django_db

INCIDENTS = reverse("admin:incidents_incident_changelist")
FACTORY = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=FACTORY)


@pytest.fixture
def opened(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    moments = {
        "late on the 31st": datetime(2026, 10, 31, 23, 30, tzinfo=FACTORY),
        # 16:30 on the 31st in UTC: a bound read without the zone would count it on the 31st.
        "early on the 1st": local(1, 0, 30),
        "noon on the 1st": local(1, 12),
        "late on the 1st": local(1, 23, 59),
        "early on the 2nd": local(2, 0, 10),
    }
    ids = {}
    for name, moment in moments.items():
        incident = IncidentFactory()
        Incident.objects.filter(pk=incident.pk).update(opened_at=moment)
        ids[incident.pk] = name
    return ids


@pytest.fixture
def supervisor(client):
    client.force_login(SupervisorFactory())
    return client


def listed(supervisor, opened, **query) -> tuple[set[str], list[str]]:
    page = supervisor.get(INCIDENTS, query)
    assert page.status_code == 200
    names = {opened[pk] for pk in page.context["cl"].queryset.values_list("pk", flat=True)}
    return names, [str(message) for message in get_messages(page.wsgi_request)]


def test_a_date_alone_is_the_whole_day_from_its_first_to_its_last_moment(supervisor, opened):
    names, warnings = listed(
        supervisor, opened, opened_at_from_0="2026-11-01", opened_at_to_0="2026-11-01"
    )

    assert names == {"early on the 1st", "noon on the 1st", "late on the 1st"}
    assert warnings == []


def test_a_lower_bound_alone_keeps_everything_after_it(supervisor, opened):
    names, _ = listed(supervisor, opened, opened_at_from_0="2026-11-02")

    assert names == {"early on the 2nd"}


def test_a_typed_time_is_kept_to_the_minute(supervisor, opened):
    names, _ = listed(
        supervisor,
        opened,
        opened_at_from_0="2026-11-01",
        opened_at_from_1="12:00",
        opened_at_to_0="2026-11-01",
        opened_at_to_1="23:59",
    )

    assert names == {"noon on the 1st", "late on the 1st"}


def test_a_date_that_cannot_be_read_leaves_the_list_whole_and_says_so(supervisor, opened):
    names, warnings = listed(supervisor, opened, opened_at_from_0="1 Nov", opened_at_from_1="00:00")
    page = supervisor.get(INCIDENTS, {"opened_at_from_0": "1 Nov"})

    assert names == set(opened.values())
    assert len(warnings) == 1
    assert "Opened" in warnings[0] and "Enter a valid date." in warnings[0]
    # The filter panel shows the error beside the field.
    assert "Enter a valid date." in page.content.decode()


def test_a_time_without_its_date_is_refused(supervisor, opened):
    names, warnings = listed(supervisor, opened, opened_at_to_1="12:00")

    assert names == set(opened.values())
    assert len(warnings) == 1


@pytest.mark.parametrize(
    ("bound", "day"),
    [
        ("opened_at_from_0", "0001-01-01"),
        ("opened_at_to_0", "0001-01-01"),
        ("opened_at_from_0", "9999-12-31"),
        ("opened_at_to_0", "9999-12-31"),
        ("opened_at_from_0", "1899-12-31"),
    ],
)
def test_a_date_outside_the_years_a_list_knows_leaves_it_whole_and_says_so(
    supervisor, opened, bound, day
):
    """The first and last days a calendar has are moments no time zone converts (0001-01-01 in
    the factory's zone is a day before the year 1 in UTC): said, not a server error."""
    names, warnings = listed(supervisor, opened, **{bound: day})

    assert names == set(opened.values())
    assert len(warnings) == 1
    assert "Dates run from 1900-01-01 to 2999-12-31." in warnings[0]
