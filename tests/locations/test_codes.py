"""What a scanned code stands for: the prefixed codes printed on labels, the bare legacy codes
looked up in all three kinds, and the refusals in words when a code cannot be used."""

import pytest

from locations.codes import CodeKind, ScanError, label_payload, max_key_length, resolve
from tests.factories import DeviceFactory, EmployeeFactory, LocationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def things():
    """One of each kind, with keys that match no other kind."""
    return {
        CodeKind.DEVICE: DeviceFactory(serial_number="SN-ALPHA-01"),
        CodeKind.EMPLOYEE: EmployeeFactory(employee_number="E70001"),
        CodeKind.LOCATION: LocationFactory(code="WH-B2-05"),
    }


class PrefixedCodeTests:
    @pytest.mark.parametrize(
        ("code", "kind"),
        [
            ("DEV:SN-ALPHA-01", CodeKind.DEVICE),
            ("EMP:E70001", CodeKind.EMPLOYEE),
            ("LOC:WH-B2-05", CodeKind.LOCATION),
        ],
    )
    def test_each_prefix_finds_its_kind(self, things, code, kind):
        scanned = resolve(code)

        assert scanned.kind == kind
        assert scanned.obj == things[kind]

    @pytest.mark.parametrize(
        ("code", "kind"),
        [
            ("dev:SN-ALPHA-01", CodeKind.DEVICE),
            ("Emp:E70001", CodeKind.EMPLOYEE),
            ("loc:wh-b2-05", CodeKind.LOCATION),
        ],
    )
    def test_a_lower_case_prefix_and_key_are_recognised(self, things, code, kind):
        assert resolve(code).obj == things[kind]

    @pytest.mark.parametrize(
        ("code", "kind"),
        [
            ("  DEV:SN-ALPHA-01  ", CodeKind.DEVICE),
            ("EMP: E70001", CodeKind.EMPLOYEE),
            ("\tLOC:  WH-B2-05 \r\n", CodeKind.LOCATION),
        ],
    )
    def test_stray_spaces_around_the_code_and_after_the_prefix_are_ignored(
        self, things, code, kind
    ):
        assert resolve(code).obj == things[kind]

    def test_the_prefix_decides_even_when_the_bare_key_would_be_ambiguous(self):
        device = DeviceFactory(serial_number="SHARED-7")
        person = EmployeeFactory(employee_number="SHARED-7")
        place = LocationFactory(code="SHARED-7")

        assert resolve("DEV:SHARED-7").obj == device
        assert resolve("EMP:SHARED-7").obj == person
        assert resolve("LOC:SHARED-7").obj == place

    @pytest.mark.parametrize(
        ("code", "words"),
        [
            ("DEV:SN-NOPE", "No device with code SN-NOPE is registered."),
            ("EMP:E99999", "No person with code E99999 is registered."),
            ("LOC:GONE-1", "No location with code GONE-1 is registered."),
        ],
    )
    def test_an_unknown_prefixed_code_names_the_kind_and_the_key(self, things, code, words):
        with pytest.raises(ScanError) as caught:
            resolve(code)

        assert caught.value.message == words

    def test_a_prefixed_code_of_another_kind_is_not_found(self, things):
        with pytest.raises(ScanError, match="No location with code SN-ALPHA-01"):
            resolve("LOC:SN-ALPHA-01")

    def test_a_prefix_alone_is_refused(self, things):
        with pytest.raises(ScanError, match="No device"):
            resolve("DEV:")


class BareCodeTests:
    @pytest.mark.parametrize(
        ("code", "kind"),
        [
            ("SN-ALPHA-01", CodeKind.DEVICE),
            ("E70001", CodeKind.EMPLOYEE),
            ("WH-B2-05", CodeKind.LOCATION),
        ],
    )
    def test_a_bare_legacy_code_is_looked_up_in_every_kind(self, things, code, kind):
        scanned = resolve(code)

        assert scanned.kind == kind
        assert scanned.obj == things[kind]

    def test_a_bare_code_is_matched_whatever_its_case_and_surrounding_spaces(self, things):
        assert resolve("  sn-alpha-01 ").obj == things[CodeKind.DEVICE]

    def test_a_location_code_equal_to_an_employee_number_names_both_kinds(self):
        EmployeeFactory(employee_number="E12345")
        LocationFactory(code="E12345")

        with pytest.raises(ScanError) as caught:
            resolve("E12345")

        message = caught.value.message
        assert "E12345 matches more than one thing" in message
        assert "(person, location)" in message
        assert "scan its printed label instead" in message

    def test_a_code_matching_all_three_kinds_names_all_three(self):
        DeviceFactory(serial_number="X-1")
        EmployeeFactory(employee_number="X-1")
        LocationFactory(code="X-1")

        with pytest.raises(ScanError, match=r"\(device, person, location\)"):
            resolve("X-1")

    def test_an_unknown_bare_code_is_refused_in_words(self, things):
        with pytest.raises(ScanError) as caught:
            resolve("NOTHING-42")

        assert caught.value.message == "NOTHING-42 is not a known device, person or location."

    @pytest.mark.parametrize("code", ["", "   ", "\r\n", None])
    def test_empty_input_says_nothing_was_scanned(self, code):
        with pytest.raises(ScanError) as caught:
            resolve(code)

        assert caught.value.message == "Nothing was scanned."


class OverlongCodeTests:
    def test_the_longest_key_is_that_of_the_longest_key_column(self):
        assert max_key_length() == 64

    @pytest.mark.parametrize("prefix", ["", "DEV:"])
    def test_a_key_of_the_longest_length_is_still_found(self, prefix):
        device = DeviceFactory(serial_number="S" * max_key_length())

        assert resolve(prefix + device.serial_number).obj == device

    @pytest.mark.parametrize(
        "code", ["X" * (max_key_length() + 1), "X" * 100_000, "LOC:" + "X" * 100_000]
    )
    def test_a_code_longer_than_any_key_is_refused_without_a_query(
        self, code, django_assert_num_queries
    ):
        with django_assert_num_queries(0), pytest.raises(ScanError) as caught:
            resolve(code)

        length = len(code.removeprefix("LOC:"))
        assert caught.value.message == (
            f"The scanned code is {length} characters long; no device, person or location "
            "has a code longer than 64. Scan a label printed by this system."
        )


class LabelPayloadTests:
    def test_each_kind_gets_its_prefix_and_key(self, things):
        assert label_payload(things[CodeKind.DEVICE]) == "DEV:SN-ALPHA-01"
        assert label_payload(things[CodeKind.EMPLOYEE]) == "EMP:E70001"
        assert label_payload(things[CodeKind.LOCATION]) == "LOC:WH-B2-05"

    @pytest.mark.parametrize("kind", [CodeKind.DEVICE, CodeKind.EMPLOYEE, CodeKind.LOCATION])
    def test_a_label_payload_resolves_back_to_its_object(self, things, kind):
        obj = things[kind]

        scanned = resolve(label_payload(obj))

        assert (scanned.kind, scanned.obj) == (kind, obj)
        assert scanned.key == label_payload(obj).split(":", 1)[1]

    def test_payloads_of_things_sharing_a_key_resolve_each_to_its_own_object(self):
        objects = [
            DeviceFactory(serial_number="K-100"),
            EmployeeFactory(employee_number="K-100"),
            LocationFactory(code="K-100"),
        ]

        assert [resolve(label_payload(obj)).obj for obj in objects] == objects

    def test_a_label_resolves_to_its_own_location_when_another_code_differs_only_in_case(self):
        # Serial numbers cannot differ only in case; location codes still may.
        upper = LocationFactory(code="AB-CASE-1")
        lower = LocationFactory(code="ab-case-1")

        assert resolve(label_payload(upper)).obj == upper
        assert resolve(label_payload(lower)).obj == lower
