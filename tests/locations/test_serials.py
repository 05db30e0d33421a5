"""Correcting a serial number mistyped at registration: only an administrator, with a reason; the
serial it had stays its alias, which scans, searches and labels reckon with; no serial ever
names two devices, now or formerly, even when two corrections race."""

import json
import threading
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection
from django.urls import reverse

from incidents.choices import ConfigChangeKind
from incidents.models import ConfigChange
from locations import reasons
from locations.codes import label_payload, resolve
from locations.labels import label_svg
from locations.models import Device, DeviceAlias
from locations.serials import device_serial_correct, devices_by_serial
from locations.services import device_register
from tests.factories import AdminFactory, DeviceFactory, StaffFactory, SupervisorFactory

pytestmark = pytest.mark.django_db


def correct(device, serial, reason="Typo at registration", by=None):
    return device_serial_correct(
        device=device, serial_number=serial, reason=reason, by=by or AdminFactory()
    )


class CorrectionTests:
    def test_the_serial_changes_and_the_old_one_stays_as_an_alias(self):
        device = DeviceFactory(serial_number="SN-0O1")
        admin = AdminFactory()

        correct(device, "SN-001", by=admin)

        device.refresh_from_db()
        assert device.serial_number == "SN-001"
        alias = DeviceAlias.objects.get(device=device)
        assert (alias.serial_number, alias.by, alias.reason) == (
            "SN-0O1",
            admin,
            "Typo at registration",
        )

    def test_the_trail_keeps_who_from_what_to_what_and_why(self):
        device = DeviceFactory(serial_number="SN-0O1")
        admin = AdminFactory()

        correct(device, "SN-001", reason="Letter O typed for a zero", by=admin)

        latest, previous = device.history.order_by("-history_date", "-history_id")[:2]
        assert (previous.serial_number, latest.serial_number) == ("SN-0O1", "SN-001")
        assert latest.history_user == admin
        assert reasons.text(latest.history_change_reason) == (
            "Serial number corrected from SN-0O1: Letter O typed for a zero"
        )

    def test_the_configuration_audit_keeps_it_with_the_reason(self):
        device = DeviceFactory(serial_number="SN-0O1")
        admin = AdminFactory()

        correct(device, "SN-001", reason="Letter O typed for a zero", by=admin)

        entry = ConfigChange.objects.get(kind=ConfigChangeKind.DEVICE_SERIAL)
        assert (entry.by, entry.object_id, entry.object_repr) == (admin, device.pk, "SN-001")
        assert entry.before == {"serial_number": "SN-0O1"}
        assert entry.after == {"serial_number": "SN-001", "reason": "Letter O typed for a zero"}

    def test_a_long_reason_and_serial_still_fit_the_trail(self):
        device = DeviceFactory(serial_number="A" * 64)

        correct(device, "B" * 64, reason="why " * 100)

        latest = device.history.order_by("-history_id").first()
        assert len(latest.history_change_reason) <= reasons.MAX_LENGTH
        assert reasons.text(latest.history_change_reason).startswith("Serial number corrected")
        assert DeviceAlias.objects.get().reason == ("why " * 100).strip()

    def test_labels_printed_afterwards_carry_the_new_serial(self):
        device = DeviceFactory(serial_number="SN-0O1")

        device = correct(device, "SN-001")

        assert label_payload(device).endswith("SN-001")
        assert ">SN-001</text>" in label_svg(device)
        assert "SN-0O1" not in label_svg(device)

    def test_a_case_only_correction_changes_the_spelling_and_adds_no_alias(self):
        device = DeviceFactory(serial_number="sn-001")

        correct(device, "SN-001")

        device.refresh_from_db()
        assert device.serial_number == "SN-001"
        assert not DeviceAlias.objects.exists()

    def test_going_back_to_its_own_alias_swaps_the_two(self):
        device = DeviceFactory(serial_number="SN-A")
        correct(device, "SN-B")

        correct(device, "sn-a")

        device.refresh_from_db()
        assert device.serial_number == "sn-a"
        assert list(DeviceAlias.objects.values_list("serial_number", flat=True)) == ["SN-B"]


class RefusalTests:
    @pytest.mark.parametrize("factory", [StaffFactory, SupervisorFactory])
    def test_nobody_but_an_administrator_may_correct(self, factory):
        device = DeviceFactory(serial_number="SN-0O1")

        with pytest.raises(ValidationError, match="Only an administrator"):
            correct(device, "SN-001", by=factory())

        device.refresh_from_db()
        assert device.serial_number == "SN-0O1"
        assert not DeviceAlias.objects.exists()
        assert not ConfigChange.objects.filter(kind=ConfigChangeKind.DEVICE_SERIAL).exists()

    def test_nobody_at_all_is_refused(self):
        with pytest.raises(ValidationError, match="by a person"):
            device_serial_correct(
                device=DeviceFactory(), serial_number="SN-X", reason="Typo", by=None
            )

    def test_a_serial_of_another_device_in_any_case_is_refused_naming_it(self):
        DeviceFactory(serial_number="SN-TAKEN")
        device = DeviceFactory(serial_number="SN-0O1")

        with pytest.raises(ValidationError, match="Device SN-TAKEN is registered"):
            correct(device, "sn-taken")

    def test_a_former_serial_of_another_device_is_refused_naming_it(self):
        other = DeviceFactory(serial_number="SN-OLD")
        correct(other, "SN-NEW")
        device = DeviceFactory(serial_number="SN-0O1")

        with pytest.raises(ValidationError, match="former serial number of device SN-NEW"):
            correct(device, "sn-old")

    @pytest.mark.parametrize(
        ("serial", "reason", "said"),
        [
            ("SN-0O1", "Typo", "already"),
            ("", "Typo", "is needed"),
            ("   ", "Typo", "is needed"),
            ("SN\x00X", "Typo", "printable"),
            ("SN\ud800X", "Typo", "printable"),
            ("SN\ufffdX", "Typo", "printable"),
            ("S" * 10_000, "Typo", "at most"),
            ("SN-001", "", "Say why"),
            ("SN-001", " \t ", "Say why"),
            ("SN-001", "x" * 10_000, "at most"),
        ],
    )
    def test_a_hostile_or_pointless_correction_is_refused_in_words(self, serial, reason, said):
        device = DeviceFactory(serial_number="SN-0O1")

        with pytest.raises(ValidationError, match=said):
            correct(device, serial, reason=reason)

        device.refresh_from_db()
        assert device.serial_number == "SN-0O1"

    def test_registering_a_device_under_an_alias_is_refused_naming_whose(self):
        device = DeviceFactory(serial_number="SN-0O1")
        correct(device, "SN-001")

        with pytest.raises(ValidationError, match="former serial number of device SN-001"):
            device_register(serial_number="sn-0o1", registered_by=None)


class AliasResolutionTests:
    def test_a_scan_of_an_old_label_finds_the_device(self):
        device = DeviceFactory(serial_number="SN-0O1")
        old_label = label_payload(device)
        correct(device, "SN-001")

        assert resolve(old_label).obj == device
        assert resolve("sn-0o1").obj == device

    def test_the_scan_station_takes_the_old_serial(self, client):
        device = DeviceFactory(serial_number="SN-0O1")
        correct(device, "SN-001")
        client.force_login(StaffFactory())

        reply = client.post(
            reverse("admin:locations_device_scan_api"),
            json.dumps({"op": "scan", "code": "SN-0O1"}),
            content_type="application/json",
        ).json()

        assert reply["level"] != "error", reply
        assert "SN-001" in json.dumps(reply, ensure_ascii=False)

    def test_the_device_list_search_finds_it_by_the_old_serial(self, client):
        device = DeviceFactory(serial_number="SN-0O1")
        correct(device, "SN-001")
        DeviceFactory(serial_number="SN-OTHER")
        client.force_login(StaffFactory())

        response = client.get(reverse("admin:locations_device_changelist"), {"q": "0O1"})

        assert list(response.context["cl"].result_list) == [device]

    def test_devices_by_serial_finds_both_serials(self):
        device = DeviceFactory(serial_number="SN-0O1")
        correct(device, "SN-001")

        found = devices_by_serial({"sn-0o1", "SN-001", "SN-NONE"})

        assert found == {"SN-0O1": device, "SN-001": device}


class AdminPageTests:
    def url(self, device):
        return reverse("admin:locations_device_correct_serial_action", args=[device.pk])

    def test_an_administrator_corrects_through_the_form(self, client):
        device = DeviceFactory(serial_number="SN-0O1")
        client.force_login(AdminFactory())

        response = client.post(self.url(device), {"serial_number": "SN-001", "reason": "Typo"})

        assert response.status_code == 302
        device.refresh_from_db()
        assert device.serial_number == "SN-001"
        change = reverse("admin:locations_device_change", args=[device.pk])
        assert "SN-0O1 is now SN-001" in client.get(change).content.decode()
        # Once the message is read, the page itself still names the old serial.
        page = client.get(change).content.decode()
        assert "Also known as" in page and "SN-0O1" in page
        assert self.url(device) in page

    def test_the_history_page_says_from_what_and_why(self, client):
        device = correct(DeviceFactory(serial_number="SN-0O1"), "SN-001", reason="O for 0")
        client.force_login(StaffFactory())

        page = client.get(reverse("admin:locations_device_history", args=[device.pk]))

        assert "Serial number corrected from SN-0O1: O for 0" in page.content.decode()

    @pytest.mark.parametrize("factory", [StaffFactory, SupervisorFactory])
    def test_anyone_else_is_refused_even_by_post(self, client, factory):
        device = DeviceFactory(serial_number="SN-0O1")
        client.force_login(factory())

        response = client.post(self.url(device), {"serial_number": "SN-001", "reason": "Typo"})

        assert response.status_code == 403
        device.refresh_from_db()
        assert device.serial_number == "SN-0O1"

    def test_the_button_is_not_offered_to_a_supervisor(self, client):
        device = DeviceFactory(serial_number="SN-0O1")
        client.force_login(SupervisorFactory())

        page = client.get(reverse("admin:locations_device_change", args=[device.pk]))

        assert self.url(device) not in page.content.decode()

    @pytest.mark.parametrize(
        "data",
        [
            {"serial_number": "SN\x00X", "reason": "Typo"},
            {"serial_number": "SN\ud800X", "reason": "Typo"},
            {"serial_number": "S" * 10_000, "reason": "Typo"},
            {"serial_number": "   ", "reason": "Typo"},
            {"serial_number": "SN-0O1", "reason": "Typo"},
            {"serial_number": "SN-001", "reason": "   "},
            {"serial_number": "SN-001", "reason": "r" * 10_000},
            {},
        ],
    )
    def test_a_hostile_form_is_shown_again_with_the_error(self, client, data):
        device = DeviceFactory(serial_number="SN-0O1")
        client.force_login(AdminFactory())

        body = urlencode(data, encoding="utf-8", errors="surrogatepass")
        response = client.post(
            self.url(device), body, content_type="application/x-www-form-urlencoded"
        )

        # NUL is refused before any page reads it (config.kit.inputs), in words.
        assert response.status_code == (400 if "\x00" in data.get("serial_number", "") else 200)
        if response.status_code == 200:
            assert response.context["form"].errors
        device.refresh_from_db()
        assert device.serial_number == "SN-0O1"

    def test_a_huge_or_foreign_id_is_404(self, client):
        client.force_login(AdminFactory())

        for object_id in ("99999999999999999999999", "abc"):
            url = reverse("admin:locations_device_correct_serial_action", args=[object_id])
            assert client.get(url).status_code == 404


# Flushed afterwards, the roles (groups) the migrations made are put back for the tests after.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class ConcurrencyTests:
    def test_two_corrections_to_one_serial_at_once_leave_one_device_with_it(self):
        first, second = DeviceFactory(serial_number="SN-A"), DeviceFactory(serial_number="SN-B")
        admin = AdminFactory()
        barrier, outcomes = threading.Barrier(2), []

        def run(device):
            try:
                barrier.wait()
                correct(device, "SN-SAME", by=admin)
                outcomes.append("corrected")
            except ValidationError:
                outcomes.append("refused")
            finally:
                close_old_connections()
                connection.close()

        threads = [threading.Thread(target=run, args=(device,)) for device in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(outcomes) == ["corrected", "refused"]
        assert Device.objects.filter(serial_number="SN-SAME").count() == 1

    def test_a_registration_racing_a_correction_never_reuses_the_old_serial(self):
        device = DeviceFactory(serial_number="SN-OLD")
        admin = AdminFactory()
        barrier, outcomes = threading.Barrier(2), []

        def corrects():
            try:
                barrier.wait()
                correct(device, "SN-NEW", by=admin)
                outcomes.append("corrected")
            finally:
                connection.close()

        def registers():
            try:
                barrier.wait()
                device_register(serial_number="sn-old", registered_by=None)
                outcomes.append("registered")
            except ValidationError:
                outcomes.append("refused")
            finally:
                connection.close()

        threads = [threading.Thread(target=corrects), threading.Thread(target=registers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert "corrected" in outcomes and "refused" in outcomes
        assert Device.objects.count() == 1
