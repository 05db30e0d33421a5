"""Section `scan`: complete moves per second through the real scan station (three requests each:
device, location, commit, through the admin view with sessions, permissions and the trail),
against the bare ORM update of the same two fields and the device_move service, measured in the
same run on the same database, so the ratios say what the station costs on this machine."""

import os
import time

from django.db import connection
from django.test import Client
from django.urls import reverse

from scripts.bench.figures import figure

MOVES = int(os.environ.get("BENCH_MOVES", "300"))


def timed(label: str, count: int, run) -> float:
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    rate = count / seconds
    print(f"  {label:<46} {rate:>9.1f} moves/s  ({seconds:.2f} s for {count})")
    return rate


def run() -> None:
    from incidents.choices import Role
    from incidents.services import employee_create
    from locations.models import Device, Location
    from locations.services import device_move

    user = employee_create(
        employee_number="B0001", username="bench", roles=(Role.STAFF,), password="bench-pass-1"
    )
    shelves = [
        Location.objects.create(code=f"BENCH-{n}", name=f"Bench shelf {n}") for n in range(2)
    ]
    devices = Device.objects.bulk_create(
        [Device(serial_number=f"BENCH{n:06d}", location=shelves[0]) for n in range(MOVES)]
    )
    client = Client()
    client.force_login(user)
    api = reverse("admin:locations_device_scan_api")

    def post(payload: dict) -> dict:
        response = client.post(api, payload, content_type="application/json")
        return response.json()

    def through_the_station():
        for device in devices:
            post({"op": "scan", "code": f"DEV:{device.serial_number}"})
            post({"op": "scan", "code": f"LOC:{shelves[1].code}"})
            reply = post({"op": "commit", "reason": "bench"})
            assert reply["level"] == "moved", reply

    def with_the_service():
        for device in devices:
            device_move(device=device, moved_by=user, location=shelves[0], reason="bench")

    def bare_orm_update():
        for device in devices:
            Device.objects.filter(pk=device.pk).update(location=shelves[1], holder=None)

    print(f"Scan throughput ({connection.vendor}, {MOVES} moves each):")
    station = timed("scan station (3 requests per move)", MOVES, through_the_station)
    service = timed("device_move service (lock + trail)", MOVES, with_the_service)
    bare = timed("bare ORM update of location and holder", MOVES, bare_orm_update)
    print(f"  ratio bare ORM / scan station: {bare / station:.1f}x")
    figure("scan", "scan station moves", station, "/s", bare, "bare ORM update")
    figure("scan", "device_move service", service, "/s", bare, "bare ORM update")
    print(f"  ratio service / scan station:  {service / station:.1f}x")
