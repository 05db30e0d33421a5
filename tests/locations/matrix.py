"""What the permission matrix (tests/config/test_permission_matrix.py) expects of the devices'
and locations' pages, their labels and the scan station.
"""

from tests.permission_matrix import (
    ADMINS,
    SIGNED_IN,
    SUPERVISOR_AND_UP,
    Expectation,
    at,
    given,
    history_form,
    label_pages,
    model_pages,
    pk_of,
    scan_commit_ready,
    shown_to,
    spreadsheet_pages,
    written_by,
)

EXPECTATIONS: dict[str, Expectation] = {
    # Devices: everyone registers one; supervisors and up edit what a device is; administrators
    # delete one that has no incident. Moving devices is the scan station's, for everyone.
    **model_pages(
        "locations.device",
        "device",
        view=SIGNED_IN,
        add=SIGNED_IN,
        change=SUPERVISOR_AND_UP,
        delete=ADMINS,
        added={"serial_number": "SN-MATRIX-ADD", "project": "Falcon"},
        edited_fields={"project": "Renamed project"},
        deleted="spare_device",
    ),
    **history_form(
        "locations.device", "device", view=SIGNED_IN, edited_fields={"project": "Hacked"}
    ),
    **spreadsheet_pages("locations.device", "device", import_=SUPERVISOR_AND_UP, export=SIGNED_IN),
    **label_pages("locations.device", "device", view=SIGNED_IN),
    # The scan station (locations.move_device): its page takes no POST; its API takes only
    # POSTs, here the commit of a device scanned with a location.
    "admin:locations_device_scan": Expectation(
        at("admin:locations_device_scan"), get=shown_to(*SIGNED_IN), post=shown_to()
    ),
    # The scan station's printable command codes (a PDF): for those who may move devices.
    "admin:locations_device_scan_commands": Expectation(
        at("admin:locations_device_scan_commands"), get=shown_to(*SIGNED_IN), post=shown_to()
    ),
    # A device's Move button (locations.move_device): where it goes, who takes it, and why,
    # through the same service and trail as the scan station.
    "admin:locations_device_move_action": Expectation(
        at("admin:locations_device_move_action", "device"),
        get=shown_to(*SIGNED_IN),
        post=written_by(*SIGNED_IN),
        data=given(location=pk_of("bench"), holder="", reason="Moved by the matrix"),
    ),
    # A device's Correct serial number button: administrators only (incidents.rules), the old
    # serial kept as its alias.
    "admin:locations_device_correct_serial_action": Expectation(
        at("admin:locations_device_correct_serial_action", "device"),
        get=shown_to(*ADMINS),
        post=written_by(*ADMINS),
        data=given(serial_number="SN-MATRIX-CORRECTED", reason="Mistyped at registration"),
    ),
    "admin:locations_device_scan_api": Expectation(
        at("admin:locations_device_scan_api"),
        get=shown_to(),
        post=written_by(*SIGNED_IN),
        data=given(op="commit", reason="Moved by the matrix"),
        json=True,
        prepare=scan_commit_ready,
    ),
    # Locations: supervisors and up add and edit them, administrators delete one named in no
    # trail.
    **model_pages(
        "locations.location",
        "shelf",
        view=SIGNED_IN,
        add=SUPERVISOR_AND_UP,
        change=SUPERVISOR_AND_UP,
        delete=ADMINS,
        added={"code": "LOC-MATRIX-NEW", "name": "New shelf"},
        edited_fields={"name": "Renamed shelf"},
        deleted="spare_location",
    ),
    **history_form("locations.location", "shelf", view=SIGNED_IN, edited_fields={"name": "Hacked"}),
    **spreadsheet_pages("locations.location", "shelf", import_=SUPERVISOR_AND_UP, export=SIGNED_IN),
    **label_pages("locations.location", "shelf", view=SIGNED_IN),
}
