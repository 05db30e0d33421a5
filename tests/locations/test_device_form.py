"""A device's add and change forms write nothing when the page is shown again with an error: the
device was registered (or its details written) before its inline's counts were checked, so a
form refused for tampered counts left the device saved all the same."""

import pytest
from django.urls import reverse

from locations.models import Device
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db

COUNTS = {
    "incidents-TOTAL_FORMS": "0",
    "incidents-INITIAL_FORMS": "0",
    "incidents-MIN_NUM_FORMS": "0",
    "incidents-MAX_NUM_FORMS": "0",
}


class ShownAgainTests:
    @pytest.mark.parametrize("total", ["0", "abc"])
    def test_a_new_device_is_registered_only_when_the_whole_page_is_taken(
        self, admin_client, total
    ):
        response = admin_client.post(
            reverse("admin:locations_device_add"),
            {
                "serial_number": "SN-SHOWN-AGAIN",
                "project": "Falcon",
                **COUNTS,
                "incidents-TOTAL_FORMS": total,
            },
        )

        registered = Device.objects.filter(serial_number="SN-SHOWN-AGAIN").exists()
        assert (response.status_code, registered) == ((302, True) if total == "0" else (200, False))

    def test_a_device_page_shown_again_leaves_its_details_as_they_were(self, admin_client):
        device = DeviceFactory(project="Falcon")

        response = admin_client.post(
            reverse("admin:locations_device_change", args=[device.pk]),
            {"project": "Renamed", **COUNTS, "incidents-TOTAL_FORMS": "abc"},
        )

        assert response.status_code == 200
        device.refresh_from_db()
        assert device.project == "Falcon"
        assert not device.history.filter(project="Renamed").exists()
