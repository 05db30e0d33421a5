"""What the permission matrix (tests/config/test_permission_matrix.py) expects of the REST API
asked with a person's session.
"""

from django.urls import reverse

from tests.permission_matrix import (
    ADMINS,
    EVERYONE,
    SIGNED_IN,
    Expectation,
    at,
    shown_to,
    written_by,
)


def matrix_result(world) -> dict:
    """A station's result for the world's device."""
    return {
        "result_id": "MATRIX-1",
        "serial_number": world.things["device"].serial_number,
        "station": "FCT-MATRIX",
        "test_item": "BT_RSSI",
        "passed": False,
        "tested_at": "2025-03-04T10:22:00+08:00",
    }


EXPECTATIONS: dict[str, Expectation] = {
    # The REST API with a person's session: what their screens show (a token is asked for
    # otherwise, 401). Its schema and reference are open to anyone; its reads refuse a POST.
    "api-v1:openapi-json": Expectation(
        at("api-v1:openapi-json"), get=shown_to(*EVERYONE), post=shown_to(*EVERYONE)
    ),
    "api-v1:openapi-view": Expectation(
        at("api-v1:openapi-view"), get=shown_to(*EVERYONE), post=shown_to(*EVERYONE)
    ),
    "api-v1:api-root": Expectation(at("api-v1:api-root"), get=shown_to(), post=shown_to()),
    "api-v1:nothing_here": Expectation(
        lambda world: reverse("api-v1:nothing_here", args=["nothing/here"]),
        get=shown_to(),
        post=shown_to(),
    ),
    # Reporting test results: whoever may open incidents (a POST; reading it is 405).
    "api-v1:result_batch": Expectation(
        at("api-v1:result_batch"),
        get=shown_to(),
        post=written_by(*SIGNED_IN),
        data=lambda world: {"results": [matrix_result(world)]},
        json=True,
    ),
    # Webhooks: administrators list (GET) and register (POST) them with their session at one
    # address, named after either operation; anyone else is refused (403).
    **{
        f"api-v1:{name}": Expectation(
            at(f"api-v1:{name}"),
            get=shown_to(*ADMINS),
            post=written_by(*ADMINS),
            data=lambda world: {
                "url": "https://mes.example/matrix",
                "secret": "matrix-api-secret-0123456789",
                "events": ["incident.opened"],
            },
            json=True,
        )
        for name in ("webhook_list", "webhook_register")
    },
    **{
        f"api-v1:{name}": Expectation(
            at(f"api-v1:{name}", *things), get=shown_to(*SIGNED_IN), post=shown_to()
        )
        for name, things in (
            ("incident_list", ()),
            ("incident_detail", ("working",)),
            ("incident_similar", ("working",)),
            ("device_list", ()),
            ("device_detail", ("device",)),
            ("location_list", ()),
            ("location_detail", ("shelf",)),
            ("problem_group_list", ()),
            ("problem_group_detail", ("problem_group",)),
        )
    },
}
