"""Ctrl+K (config.unfold.where_is_search): an incident by its number, a device with where it is
and its open incident, and whatever the incident list's own search finds, best answer first and
only what the person may view."""

import pytest
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from config.unfold import where_is_search
from incidents.services import incident_open
from tests.factories import (
    DeviceFactory,
    EmployeeFactory,
    LocationFactory,
    StaffFactory,
)
from tests.workers import clear_cache

pytestmark = pytest.mark.django_db


def search(user, term: str) -> list:
    request = RequestFactory().get("/admin/search/", {"s": term, "extended": 1})
    request.user = user
    return where_is_search(request, term)


def titles(results) -> list[str]:
    return [str(result.title) for result in results]


@pytest.fixture
def incident():
    holder = StaffFactory(display_name="Zhou Tao")
    device = DeviceFactory(
        serial_number="SN-CK-0001",
        holder=holder,
        location=LocationFactory(code="WH-B2-06", name="Shelf"),
    )
    return incident_open(device=device, reporter=StaffFactory(), fail_item="CAM_AF")


class IncidentNumberTests:
    @pytest.mark.parametrize("term", ["{pk}", "#{pk}", " # {pk} "])
    def test_the_number_finds_the_incident_first(self, incident, term):
        results = search(StaffFactory(), term.format(pk=incident.pk))

        assert titles(results)[0] == f"Incident #{incident.pk} · SN-CK-0001"
        assert results[0].link == reverse("admin:incidents_incident_change", args=[incident.pk])
        assert str(incident.get_stage_display()) in str(results[0].description)

    def test_a_number_with_no_incident_finds_no_incident(self, incident):
        results = search(StaffFactory(), f"#{incident.pk + 1000}")

        assert not [title for title in titles(results) if title.startswith("Incident")]


class DeviceTests:
    def test_a_serial_says_where_the_device_is_and_its_open_incident_with_its_stage(self, incident):
        results = search(StaffFactory(), "ck-0001")

        device = results[0]
        assert device.title == "SN-CK-0001"
        assert device.link == reverse("admin:locations_device_change", args=[incident.device_id])
        assert str(device.description) == (
            f"at WH-B2-06 · Shelf · held by Zhou Tao · open incident #{incident.pk}, "
            f"{incident.get_stage_display()}"
        )
        assert f"Incident #{incident.pk} · SN-CK-0001" in titles(results)

    def test_a_device_without_an_open_incident_names_none(self):
        DeviceFactory(serial_number="SN-CK-0002", holder=None)

        (result,) = search(StaffFactory(), "SN-CK-0002")

        assert "open incident" not in str(result.description)
        assert "held by —" in str(result.description)

    def test_the_stage_is_in_the_language_of_the_reader(self, incident):
        with translation.override("zh-hans"):
            stage = str(incident.get_stage_display())
            description = str(search(StaffFactory(), "SN-CK-0001")[0].description)

        assert stage != "Reported"
        assert stage in description


class IncidentListSearchTests:
    def test_a_fail_item_finds_what_the_incident_list_finds(self, incident, staff_client):
        other = incident_open(
            device=DeviceFactory(), reporter=StaffFactory(), fail_item="CAM_AF_FOCUS"
        )
        incident_open(device=DeviceFactory(), reporter=StaffFactory(), fail_item="BT_RSSI")
        listed = (
            staff_client.get(reverse("admin:incidents_incident_changelist"), {"q": "CAM_AF"})
            .context["cl"]
            .result_list
        )

        results = search(StaffFactory(), "CAM_AF")

        expected = {f"Incident {found}" for found in listed}
        assert expected == {f"Incident {incident}", f"Incident {other}"}
        assert set(titles(results)) == expected

    def test_an_incident_found_twice_is_listed_once(self, incident):
        results = search(StaffFactory(), str(incident.pk))

        assert titles(results).count(f"Incident {incident}") == 1


class PermissionTests:
    def test_someone_who_may_view_neither_finds_nothing(self, incident):
        assert search(EmployeeFactory(), "SN-CK-0001") == []
        assert search(EmployeeFactory(), str(incident.pk)) == []

    def test_someone_who_may_view_devices_only_sees_no_incident(self, incident):
        person = EmployeeFactory()
        person.user_permissions.add(Permission.objects.get(codename="view_device"))

        results = search(type(person).objects.get(pk=person.pk), "SN-CK-0001")

        assert titles(results) == ["SN-CK-0001"]
        assert "incident" not in str(results[0].description)

    def test_someone_who_may_view_incidents_only_sees_no_device(self, incident):
        person = EmployeeFactory()
        person.user_permissions.add(Permission.objects.get(codename="view_incident"))

        results = search(type(person).objects.get(pk=person.pk), "SN-CK-0001")

        assert titles(results) == [f"Incident {incident}"]


class CommandPaletteTests:
    def test_the_palette_lists_the_incident_first_for_its_number(self, incident, staff_client):
        clear_cache()  # Unfold keeps a person's results for a term a few minutes

        response = staff_client.get(
            reverse("admin:search"), {"s": f"#{incident.pk}", "extended": 1}
        )

        html = response.content.decode()
        first = html.index('href="', html.index('id="command-results-list"'))
        change = reverse("admin:incidents_incident_change", args=[incident.pk])
        assert html[first:].startswith(f'href="{change}"')


class PaletteAnswersTests:
    """What /admin/search/ sends the palette: people by name and number, places named in the
    reader's language only, and a search that finds nothing saying so where the palette looks
    (its list and its note)."""

    @pytest.fixture
    def person(self):
        return EmployeeFactory(display_name="赵强 Zhao Qiang", employee_number="10705")

    def palette(self, client, term: str, language: str = "en") -> str:
        client.cookies["django_language"] = language
        response = client.get(reverse("admin:search"), {"s": term, "extended": 1})
        assert response.status_code == 200
        return response.content.decode()

    @pytest.mark.parametrize("term", ["赵强", "zhao qiang", "10705"])
    def test_a_person_is_found_by_name_and_employee_number(self, person, staff_client, term):
        html = self.palette(staff_client, term)

        change = reverse("admin:incidents_employee_change", args=[person.pk])
        listed = html[html.index('id="command-results-list"') :]
        assert f'href="{change}"' in listed
        assert 'data-description="Employee"' in listed

    @pytest.mark.parametrize(
        "language, kind, other", [("en", "Location", "位置"), ("zh-hans", "位置", "Locations")]
    )
    def test_a_place_is_described_in_the_readers_language_only(
        self, staff_client, language, kind, other
    ):
        LocationFactory(code="FAE-LAB-9", name="FAE lab")

        html = self.palette(staff_client, "FAE-LAB-9", language)

        assert f'data-description="{kind}"' in html
        assert other not in html

    @pytest.mark.parametrize("language", ["en", "zh-hans"])
    def test_a_search_finding_nothing_says_so_in_the_palettes_note(self, staff_client, language):
        html = self.palette(staff_client, "赵无此人", language)

        assert "command-results-list" not in html
        note = html[html.index('id="command-results-note"') :]
        assert 'data-testid="command-no-results"' in note
        assert 'x-show="hasResults"' not in note
        with translation.override(language):
            assert translation.gettext("No results matching your query") in note


class HostileInputTests:
    """Ctrl+K answers any page number and any search with an answer, never a server error."""

    @pytest.mark.parametrize("page", ["abc", "0", "-1", "1.5", "²", "99999999999999999999"])
    def test_a_page_that_is_not_a_whole_number_from_one_is_refused_saying_so(
        self, staff_client, page
    ):
        response = staff_client.get(reverse("admin:search"), {"s": "SN", "page": page})

        assert response.status_code == 400
        assert "must be a whole number from 1" in response.content.decode()

    @pytest.mark.parametrize("page", ["2", "999999999"])
    def test_a_page_past_the_last_answers_nothing_more(self, staff_client, page):
        clear_cache()

        response = staff_client.get(
            reverse("admin:search"), {"s": "SN", "extended": 1, "page": page}
        )

        assert response.status_code == 200
        assert "command-results-list" not in response.content.decode()

    def test_a_search_of_a_thousand_words_uses_the_first_and_says_so(self, incident):
        words = "CAM_AF " + " ".join(f"w{i}" for i in range(1000))

        results = search(StaffFactory(), words)

        assert titles(results)[0] == (
            "Only the first 10 words of the search were used, each up to 100 characters."
        )
        assert str(results[0].description).startswith("Searched for: CAM_AF w0 w1")
        assert "w9 " not in str(results[0].description) + " "
