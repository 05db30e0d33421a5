"""What the API's reference shows as an example answer of each read: one plausible row each,
as the factory's MES or a station script would receive it (tests/api/test_reference.py checks
that each example is a valid answer of its endpoint)."""

PERSON = {"employee_number": "10005", "name": "赵强 Zhao Qiang"}
PLACE = {
    "code": "XRAY-RACK-2",
    "name": "X-ray lab rack 2",
    "path": ["Building A", "X-ray lab", "X-ray lab rack 2"],
}
FAILURE = {
    "station": "FCT-3",
    "item": "BT_RSSI",
    "log_urls": ["https://mes.example/logs/FCT-3/2026-12-01/7781.log"],
    "failed_at": "2026-12-01T09:41:00+08:00",
}
INCIDENT = {
    "id": 1042,
    "stage": "xray",
    "step": "assigned",
    "serial_number": "C2221004711",
    "project": "Heron",
    "failure": FAILURE,
    "problem_group": "BUG-2026-0012",
    "assignee": PERSON,
    "opened_at": "2026-12-01T10:02:13+08:00",
    "closed_at": None,
}
INCIDENT_DETAIL = {
    **INCIDENT,
    "description": "Opened by the line: FCT-3 token reported 3 failures in a row at FCT-3 "
    "(BT_RSSI).",
    "reporter": None,
    "reported_by_line": "FCT-3 token",
    "stage_entered_at": "2026-12-02T14:20:00+08:00",
    "device": {
        "id": 311,
        "serial_number": "C2221004711",
        "location": PLACE,
        "holder": PERSON,
    },
    "timeline": [
        {
            "at": "2026-12-02T14:20:00+08:00",
            "action": "approve",
            "by": {"employee_number": "10004", "name": "王芳 Wang Fang"},
            "by_line": None,
            "from_stage": "fae_retest",
            "to_stage": "xray",
            "from_step": "submitted",
            "to_step": "unassigned",
            "assignee": None,
            "comment": "",
            "verdict": "",
            "note": "",
        },
        {
            "at": "2026-12-01T10:02:13+08:00",
            "action": "open",
            "by": None,
            "by_line": "FCT-3 token",
            "from_stage": "",
            "to_stage": "reported",
            "from_step": "",
            "to_step": "unassigned",
            "assignee": None,
            "comment": "",
            "verdict": "",
            "note": "",
        },
    ],
}
NEXT = "eyJrIjpbIjIwMjYtMTItMDFUMDI6MDI6MTMrMDA6MDAiLDEwNDJdfQ"
DEVICE = {
    "id": 311,
    "serial_number": "C2221004711",
    "project": "Heron",
    "hardware_version": "EVT2",
    "rom_version": "1.4.2",
    "config": "8G+256G",
    "location": PLACE,
    "holder": PERSON,
    "open_incident": 1042,
    "registered_at": "2026-11-28T16:45:00+08:00",
}
LOCATION = {
    "id": 7,
    "code": "XRAY-RACK-2",
    "name": "X-ray lab rack 2",
    "kind": "shelf",
    "parent": "XRAY-LAB",
    "path": PLACE["path"],
    "is_active": True,
}
GROUP = {
    "id": 12,
    "number": "BUG-2026-0012",
    "title": "Bluetooth RSSI low after reflow",
    "status": "open",
    "owner": PERSON,
    "created_at": "2026-11-30T09:00:00+08:00",
    "incident_count": 5,
    "open_count": 3,
}
ERROR = {
    "error": {
        "code": "not_found",
        "message": "No incident 1042 that you may see.",
    }
}


def examples(*values: dict) -> dict:
    """A schema's model_config adding `values` as its examples in the reference."""
    return {"json_schema_extra": {"examples": list(values)}}


INCIDENT_PAGE = {"results": [INCIDENT], "next": NEXT}
DEVICE_DETAIL = {**DEVICE, "incidents": [1042, 877]}
DEVICE_PAGE = {"results": [DEVICE], "next": None}
LOCATION_DETAIL = {**LOCATION, "device_count": 14}
LOCATION_PAGE = {"results": [LOCATION], "next": None}
GROUP_DETAIL = {
    **GROUP,
    "description": "Devices of one reflow lot fail BT_RSSI at FCT-3.",
    "incidents": [1042, 1040, 1031, 998, 990],
}
GROUP_PAGE = {"results": [GROUP], "next": None}
SIMILAR_PAGE = {
    "results": [
        {
            "id": 877,
            "serial_number": "C2221003390",
            "stage": "returned",
            "outcome": "returned",
            "failure": {**FAILURE, "failed_at": "2026-10-14T15:02:00+08:00"},
            "resolution": "BT antenna spring bent after reflow; replaced the spring, RSSI -48 dBm.",
            "problem_group": 12,
            "score": 3.5,
        },
        {
            "id": 802,
            "serial_number": "C2221002218",
            "stage": "returned",
            "outcome": "no_fault_found",
            "failure": {**FAILURE, "station": "FCT-1", "failed_at": "2026-09-30T11:20:00+08:00"},
            "resolution": "复测PASS，未复现",
            "problem_group": None,
            "score": 2.0,
        },
    ]
}
