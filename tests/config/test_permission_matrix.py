"""Who may open and post what: every URL pattern the project serves, asked for by each kind of
person with GET and with a POST a browser would plausibly send, against the rules of the roles.

Each (URL, person, method) is expected to be shown, written, answered or refused:

- shown: a success answer (2xx, or a redirect that is neither to the login page nor carries a
  warning) and nothing in the database changed; "shown read-only" for a change page offered
  to someone who may view the record but not change it;
- written: a success answer and something in the database changed (so the posted data is the
  kind that changes something when allowed, and a refusal below is a real refusal);
- answered: a success answer, whatever it changed (logging in, choosing a language);
- refused: see `tests.admin_pages.refusal` (a redirect to the login page; 403, 404 or 405; a
  redirect back with a warning or an error; for a POST to a list, the list shown again with the
  bulk action not run) and nothing in the database changed.

"Nothing changed" compares a fingerprint of every table (tests/fingerprint.py) taken right before
and after the request. The people, incidents, devices and the rest are made once for the module;
each request runs in its own transaction, rolled back after it, so every request sees the same
world. The site's own expectations are here; each app's stand beside its tests
(tests/<app>/matrix.py), and `EXPECTATIONS` joins them. A URL pattern without an expectation
fails `test_every_url_pattern_has_an_expectation`: a new screen is never added unnoticed. The
workflow buttons follow incidents/rules.py (a
superuser is an administrator there: they review and cancel, but only a stage's supervisor
assigns and only its assignee records and submits).
"""

from dataclasses import replace

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from incidents.models import (
    AnalysisResult,
    Employee,
    Incident,
    IncidentEvent,
    OperationRecord,
)
from locations.models import Device
from messaging.choices import RoomKind
from tests.admin_pages import url_patterns
from tests.api.matrix import EXPECTATIONS as API
from tests.factories import PASSWORD
from tests.incidents.matrix import EXPECTATIONS as INCIDENTS
from tests.locations.matrix import EXPECTATIONS as LOCATIONS
from tests.messaging.matrix import EXPECTATIONS as MESSAGING
from tests.permission_matrix import (
    ADMIN,
    ADMINS,
    CONFIRM_DELETE,
    EVERYONE,
    REFUSED,
    ROLES,
    SHOWN,
    SIGNED_IN,
    STAFF,
    SUPERUSER,
    SUPERVISOR,
    WRITTEN,
    Expectation,
    answered_to,
    at,
    bulk,
    change_of,
    check,
    csrf_checking_browser,
    given,
    import_confirmation,
    pk_of,
    posted,
    room_at,
    route,
    shown_to,
    workflow,
    world_made,
    written_by,
)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Made once for the module, rolled back at its end."""
    with world_made(django_db_blocker, tmp_path_factory) as made:
        yield made


@pytest.fixture
def media_root(settings, world):
    """The attachments made with the world stay readable by every test."""
    settings.MEDIA_ROOT = world.media
    return settings.MEDIA_ROOT


SITE: dict[str, Expectation] = {
    # Outside the admin: the root redirects to the dashboard (so the anonymous to the login
    # page), the health check answers anyone, and the language switch is on the login page too
    # (for someone signed in it also keeps the choice on their account).
    "": Expectation(route(""), get=shown_to(*SIGNED_IN), post=shown_to(*SIGNED_IN)),
    "healthz": Expectation(at("healthz"), get=shown_to(*EVERYONE), post=shown_to(*EVERYONE)),
    "favicon": Expectation(at("favicon"), get=shown_to(*EVERYONE), post=shown_to(*EVERYONE)),
    "readyz": Expectation(at("readyz"), get=shown_to(*EVERYONE), post=shown_to(*EVERYONE)),
    # Metrics answer only a monitoring system holding METRICS_TOKEN (unset here): nobody.
    "metrics": Expectation(at("metrics"), get=shown_to(), post=shown_to()),
    # The site's status: administrators only.
    "system_status": Expectation(
        at("system_status"), get=shown_to(*ADMINS), post=shown_to(*ADMINS)
    ),
    "set_language": Expectation(
        at("set_language"),
        get=shown_to(*EVERYONE),
        post=answered_to(*EVERYONE),
        data=given(language="zh-hans", next="/"),
    ),
    # The site's own pages: the dashboard, search, an app's list of models, the JavaScript
    # catalogue and the autocomplete answer (device search on the incident form) are for anyone
    # signed in; those that only read refuse a POST with 405.
    "admin:index": Expectation(
        at("admin:index"), get=shown_to(*SIGNED_IN), post=shown_to(*SIGNED_IN)
    ),
    "admin:search": Expectation(
        at("admin:search", query="?s=fae"), get=shown_to(*SIGNED_IN), post=shown_to(*SIGNED_IN)
    ),
    "admin:app_list": Expectation(
        lambda world: reverse("admin:app_list", args=["incidents"]),
        get=shown_to(*SIGNED_IN),
        post=shown_to(*SIGNED_IN),
    ),
    "admin:jsi18n": Expectation(at("admin:jsi18n"), get=shown_to(*SIGNED_IN), post=shown_to()),
    "admin:autocomplete": Expectation(
        at(
            "admin:autocomplete",
            query="?app_label=incidents&model_name=incident&field_name=device&term=SN",
        ),
        get=shown_to(*SIGNED_IN),
        post=shown_to(),
    ),
    # No model has a page outside the admin: "view on site" finds nothing for anyone.
    "admin:view_on_site": Expectation(
        lambda world: reverse(
            "admin:view_on_site",
            args=[ContentType.objects.get_for_model(Incident).pk, world.arg("working")],
        ),
        get=shown_to(),
        post=shown_to(),
    ),
    # Anything else under /admin/ is not found (after the login page for the anonymous).
    "admin/(?P<url>.*)$": Expectation(
        route("admin/(?P<url>.*)$", value="no-such-page/"), get=shown_to(), post=shown_to()
    ),
    # Logging in: the page is for anyone (signed-in people are sent on to the dashboard); posting
    # a person's credentials signs that person in (their last login changes).
    "admin:login": Expectation(
        at("admin:login"),
        get=shown_to(*EVERYONE),
        post=answered_to(*EVERYONE),
        data=lambda world: {"username": world.people[STAFF].username, "password": PASSWORD},
    ),
    # Logging out is a POST; the anonymous are sent to the dashboard, which asks them to log in.
    "admin:logout": Expectation(at("admin:logout"), get=shown_to(), post=shown_to(*SIGNED_IN)),
    # Everyone signed in changes their own password.
    "admin:password_change": Expectation(
        at("admin:password_change"),
        get=shown_to(*SIGNED_IN),
        post=written_by(*SIGNED_IN),
        data=given(
            old_password=PASSWORD,
            new_password1="Another-pass-456",
            new_password2="Another-pass-456",
        ),
    ),
    "admin:password_change_done": Expectation(
        at("admin:password_change_done"), get=shown_to(*SIGNED_IN), post=shown_to()
    ),
}


def merged(*parts: dict[str, Expectation]) -> dict[str, Expectation]:
    """The expectations of every part in one dict; a URL expected twice is a mistake, not a choice
    of which part wins."""
    expectations: dict[str, Expectation] = {}
    for part in parts:
        twice = sorted(expectations.keys() & part.keys())
        assert not twice, f"expected twice: {twice}"
        expectations.update(part)
    return expectations


EXPECTATIONS = merged(SITE, INCIDENTS, MESSAGING, LOCATIONS, API)

PATTERNS = url_patterns()
MATRIX = [
    pytest.param(key, role, method, id=f"{key} {role} {method}")
    for key in sorted(EXPECTATIONS)
    for role in ROLES
    for method in ("GET", "POST")
]


@pytest.mark.django_db
class PermissionMatrixTests:
    def test_every_url_pattern_has_an_expectation(self):
        missing = [p.route for p in PATTERNS if p.key not in EXPECTATIONS]

        assert not missing, "\n".join(
            f"new admin URL without an expectation: {route}" for route in missing
        )

    def test_every_expectation_names_a_url_pattern(self):
        keys = {p.key for p in PATTERNS}

        assert [key for key in EXPECTATIONS if key not in keys] == []

    @pytest.mark.parametrize(("key", "role", "method"), MATRIX)
    def test_each_person_is_shown_or_refused_what_the_rules_say(self, world, key, role, method):
        expectation = EXPECTATIONS[key]
        expected = expectation.get[role] if method == "GET" else expectation.post[role]

        check(world, role, method, expectation, expected)


# --- rules the matrix's one object per URL cannot show -------------------------------------------
SCENARIOS = {
    "a supervisor cannot approve a stage they worked themselves": (
        SUPERVISOR,
        "POST",
        posted(
            at("admin:incidents_incident_approve_action", "own_work"),
            workflow("own_work", {"comment": "Looks fine to me"}),
        ),
        REFUSED,
    ),
    "a supervisor cannot assign a stage another department owns": (
        SUPERVISOR,
        "POST",
        posted(
            at("admin:incidents_incident_assign_action", "xray_case"),
            workflow("xray_case", {"assignee": pk_of("colleague")}),
        ),
        REFUSED,
    ),
    "an administrator cannot change a superuser's account": (
        ADMIN,
        "POST",
        change_of("incidents.employee", "superuser", display_name="Renamed"),
        REFUSED,
    ),
    "an administrator cannot set a superuser's password": (
        ADMIN,
        "POST",
        posted(
            at("admin:auth_user_password_change", "superuser"),
            given(password1="Another-pass-456", password2="Another-pass-456"),
        ),
        REFUSED,
    ),
    "an administrator cannot delete a superuser": (
        ADMIN,
        "POST",
        posted(at("admin:incidents_employee_delete", "superuser"), CONFIRM_DELETE),
        REFUSED,
    ),
    "an administrator cannot delete a superuser from the list": (
        ADMIN,
        "POST",
        bulk("incidents.employee", "delete_selected", "superuser", post="yes"),
        REFUSED,
    ),
    "an administrator cannot deactivate a superuser from the list": (
        ADMIN,
        "POST",
        bulk("incidents.employee", "deactivate_selected", "superuser"),
        REFUSED,
    ),
    "an administrator cannot change a superuser's account through an import": (
        ADMIN,
        "POST",
        posted(
            at("admin:incidents_employee_process_import"),
            import_confirmation("incidents.employee", "superuser"),
            page_counts=True,
        ),
        REFUSED,
    ),
    # People and places named in a device trail are deactivated, never deleted: the delete page
    # lists why instead of deleting (the page shown again).
    "an administrator cannot delete a person named in a device trail": (
        ADMIN,
        "POST",
        posted(at("admin:incidents_employee_delete", "staff"), CONFIRM_DELETE, page_counts=True),
        REFUSED,
    ),
    "an administrator cannot delete them from the list either": (
        ADMIN,
        "POST",
        bulk("incidents.employee", "delete_selected", "staff", post="yes"),
        REFUSED,
    ),
    "a superuser cannot delete a person named in a device trail": (
        SUPERUSER,
        "POST",
        posted(at("admin:incidents_employee_delete", "staff"), CONFIRM_DELETE, page_counts=True),
        REFUSED,
    ),
    "an administrator deactivates a person named in a device trail instead": (
        ADMIN,
        "POST",
        bulk("incidents.employee", "deactivate_selected", "staff"),
        WRITTEN,
    ),
    "an administrator cannot delete a location named in a device trail": (
        ADMIN,
        "POST",
        posted(at("admin:locations_location_delete", "shelf"), CONFIRM_DELETE, page_counts=True),
        REFUSED,
    ),
    "an administrator cannot delete it from the list either": (
        ADMIN,
        "POST",
        bulk("locations.location", "delete_selected", "shelf", post="yes"),
        REFUSED,
    ),
    "an administrator deactivates a location named in a device trail instead": (
        ADMIN,
        "POST",
        bulk("locations.location", "deactivate_selected", "shelf"),
        WRITTEN,
    ),
    # The list's bulk workflow actions follow the same rules as the buttons.
    "staff cannot cancel incidents from the list": (
        STAFF,
        "POST",
        bulk("incidents.incident", "bulk_cancel", "working", apply="1", reason="Duplicate"),
        REFUSED,
    ),
    "staff cannot approve incidents from the list": (
        STAFF,
        "POST",
        bulk("incidents.incident", "bulk_approve", "waiting"),
        REFUSED,
    ),
    "a supervisor cancels their department's incidents from the list": (
        SUPERVISOR,
        "POST",
        bulk("incidents.incident", "bulk_cancel", "working", apply="1", reason="Duplicate"),
        WRITTEN,
    ),
    "an administrator cannot delete incidents from the list": (
        ADMIN,
        "POST",
        bulk("incidents.incident", "delete_selected", "working", post="yes"),
        REFUSED,
    ),
    # Only the scan station moves a device for staff: the device form stays closed to them.
    "staff cannot move a device through its form": (
        STAFF,
        "POST",
        change_of("locations.device", "device", location=pk_of("bench")),
        REFUSED,
    ),
    # The dashboard's app pages list only what the person may see.
    "staff cannot open the auth app's page": (
        STAFF,
        "GET",
        Expectation(lambda world: reverse("admin:app_list", args=["auth"]), get={}, post={}),
        REFUSED,
    ),
    # A problem group's room is read and written by whoever may see the group; a line the
    # workflow wrote is nobody's to edit, not even the actor's it names.
    "staff read a problem group's room": (
        STAFF,
        "GET",
        Expectation(
            room_at("chat:messages", "problem_group", RoomKind.PROBLEM_GROUP), get={}, post={}
        ),
        SHOWN,
    ),
    "staff write in a problem group's room": (
        STAFF,
        "POST",
        posted(
            room_at("chat:send", "problem_group", RoomKind.PROBLEM_GROUP),
            given(text="Seen on station 5 too"),
        ),
        WRITTEN,
    ),
    "the actor of a system line cannot edit it": (
        STAFF,
        "POST",
        posted(at("chat:edit", "system_line"), given(text="Rewritten")),
        REFUSED,
    ),
}


@pytest.mark.django_db
class RuleTests:
    @pytest.mark.parametrize("rule", SCENARIOS)
    def test_holds(self, world, rule):
        role, method, expectation, expected = SCENARIOS[rule]

        check(world, role, method, expectation, expected)

    def test_an_administrator_cannot_make_anyone_a_superuser(self, world):
        change = change_of(
            "incidents.employee", "newcomer", display_name="Renamed", is_superuser="on"
        )

        check(world, ADMIN, "POST", change, WRITTEN)

        newcomer = Employee.objects.get(pk=world.arg("newcomer"))
        assert newcomer.display_name == "Renamed"
        assert not newcomer.is_superuser

    def test_a_superuser_deletes_an_incident_and_its_timeline_stays(self, world):
        incident = world.things["working"]
        events = list(
            IncidentEvent.objects.filter(incident_id=incident.pk).values_list("pk", flat=True)
        )
        delete = posted(at("admin:incidents_incident_delete", "working"), CONFIRM_DELETE)

        check(world, SUPERUSER, "POST", delete, WRITTEN)

        assert not Incident.objects.filter(pk=incident.pk).exists()
        assert events
        assert (
            list(IncidentEvent.objects.filter(incident_id=incident.pk).values_list("pk", flat=True))
            == events
        )
        assert OperationRecord.objects.filter(incident_id=incident.pk).exists()
        assert AnalysisResult.objects.filter(incident_id=incident.pk).exists()


@pytest.mark.django_db
class ScanApiCsrfTests:
    """The scan station's API is posted to by the page's script: without the page's CSRF token a
    POST is refused (403) and moves nothing; with it, staff move devices."""

    COMMIT = EXPECTATIONS["admin:locations_device_scan_api"]

    def test_a_post_without_the_csrf_token_is_refused_and_moves_nothing(self, world):
        browser = csrf_checking_browser(world, STAFF)

        response = check(world, STAFF, "POST", self.COMMIT, REFUSED, client=browser)

        assert response.status_code == 403
        assert Device.objects.get(pk=world.arg("device")).location_id != world.arg("bench")

    def test_staff_with_the_csrf_token_move_a_device(self, world):
        browser = csrf_checking_browser(world, STAFF)
        browser.get(reverse("admin:locations_device_scan"))
        token = browser.cookies[settings.CSRF_COOKIE_NAME].value
        with_token = replace(self.COMMIT, headers={"X-CSRFToken": token})

        check(world, STAFF, "POST", with_token, WRITTEN, client=browser)

        assert Device.objects.get(pk=world.arg("device")).location_id == world.arg("bench")
