"""Test stations in the admin: administrators add and change them, nobody else sees them, and
the form refuses what no station could be (a name no result could carry, a name already taken
in another case, a fails-to-open count out of range) with a message, never a 500."""

import pytest

from incidents.models import Station

ADD = "/admin/incidents/station/add/"


def form(**fields) -> dict:
    return {"name": "FCT-9", "description": "", "fails_to_open": "", "active": "on", **fields}


@pytest.mark.django_db
class StationAdminTests:
    def test_an_administrator_adds_a_station_with_its_own_count(self, admin_client):
        answer = admin_client.post(ADD, form(name="  FCT-9 ", fails_to_open="5"))

        assert answer.status_code == 302
        station = Station.objects.get()
        assert (station.name, station.fails_to_open, station.active) == ("FCT-9", 5, True)

    def test_the_list_says_when_the_setting_decides(self, admin_client, settings):
        settings.RESULTS_FAILS_TO_OPEN = 4
        Station.objects.create(name="FCT-9")

        page = admin_client.get("/admin/incidents/station/").content.decode()

        assert "4 (the product&#x27;s setting)" in page

    def test_staff_and_supervisors_do_not_see_stations(self, staff_client, supervisor_client):
        for client in (staff_client, supervisor_client):
            assert client.get("/admin/incidents/station/").status_code == 403
            assert client.post(ADD, form()).status_code == 403
        assert not Station.objects.exists()

    @pytest.mark.parametrize(
        "fields, field",
        [
            ({"fails_to_open": "0"}, "fails_to_open"),
            ({"fails_to_open": "-3"}, "fails_to_open"),
            ({"fails_to_open": "101"}, "fails_to_open"),
            ({"fails_to_open": "99999999999999999999999"}, "fails_to_open"),
            ({"fails_to_open": "1e3"}, "fails_to_open"),
            ({"fails_to_open": "three"}, "fails_to_open"),
            ({"name": ""}, "name"),
            ({"name": "   "}, "name"),
            ({"name": "A\x07B"}, "name"),
            ({"name": "A\u202eB\x1b"}, "name"),
            ({"name": "x" * 101}, "name"),
            ({"name": "x" * 100_000}, "name"),
            # Taken in another case: the database's rule, said above the form.
            ({"name": "fct-1"}, "__all__"),
        ],
    )
    def test_the_form_refuses_what_no_station_could_be(self, admin_client, fields, field):
        Station.objects.create(name="FCT-1")

        answer = admin_client.post(ADD, form(**fields))

        assert answer.status_code == 200
        assert field in answer.context["adminform"].form.errors
        assert Station.objects.count() == 1

    def test_a_nul_in_the_name_is_refused_before_the_form(self, admin_client):
        answer = admin_client.post(ADD, form(name="A\x00B"))

        assert answer.status_code == 400
        assert not Station.objects.exists()

    def test_a_lone_surrogate_sent_as_bytes_stores_no_surrogate(self, admin_client):
        body = "name=%ED%A0%80&fails_to_open=&active=on&description="

        answer = admin_client.post(ADD, body, content_type="application/x-www-form-urlencoded")

        # The bytes are read as the replacement character, which a result may carry too.
        assert answer.status_code < 500
        for name in Station.objects.values_list("name", flat=True):
            name.encode("utf-8")

    def test_nobody_deletes_a_station(self, admin_client):
        station = Station.objects.create(name="FCT-9")

        answer = admin_client.post(
            f"/admin/incidents/station/{station.pk}/delete/", {"post": "yes"}
        )

        assert answer.status_code == 403
        assert Station.objects.exists()
