"""The device list's columns of the workflow: the open incident's stage, by which it sorts, and
the newest incident's fail item."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.choices import Stage
from tests.factories import AdminFactory, DeviceFactory, IncidentFactory

DEVICES = reverse("admin:locations_device_changelist")


@pytest.fixture
def devices(db):
    """Three devices: one open in EE analysis after two closed incidents, one with none, one
    just reported."""
    long_ago = timezone.now() - datetime.timedelta(days=30)
    analysed, idle, reported = (
        DeviceFactory(serial_number=serial) for serial in ("DL-A", "DL-B", "DL-C")
    )
    for days, stage in ((30, Stage.RETURNED), (20, Stage.SCRAPPED)):
        IncidentFactory(
            device=analysed,
            stage=stage,
            fail_item=f"OLD_{days}",
            opened_at=long_ago + datetime.timedelta(days=30 - days),
            closed_at=long_ago + datetime.timedelta(days=31 - days),
        )
    IncidentFactory(device=analysed, stage=Stage.EE_ANALYSIS, fail_item="NEWEST")
    IncidentFactory(device=reported, stage=Stage.REPORTED, fail_item="ONLY")
    return analysed, idle, reported


def listed(client, **query) -> list[tuple[str, str | None, str | None]]:
    page = client.get(DEVICES, query)
    assert page.status_code == 200
    return [
        (device.serial_number, device.open_stage, device.last_fail_item)
        for device in page.context["cl"].result_list
    ]


def test_each_device_is_listed_once_with_its_open_stage_and_newest_fail_item(client, devices):
    client.force_login(AdminFactory())

    assert listed(client) == [
        ("DL-A", Stage.EE_ANALYSIS, "NEWEST"),
        ("DL-B", None, None),
        ("DL-C", Stage.REPORTED, "ONLY"),
    ]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("7", [("DL-A", Stage.EE_ANALYSIS), ("DL-C", Stage.REPORTED), ("DL-B", None)]),
        ("-7", [("DL-B", None), ("DL-C", Stage.REPORTED), ("DL-A", Stage.EE_ANALYSIS)]),
    ],
)
def test_the_list_sorts_by_the_open_stage_each_way_listing_each_device_once(
    client, devices, order, expected
):
    client.force_login(AdminFactory())

    assert [(serial, stage) for serial, stage, _item in listed(client, o=order)] == expected
