"""No input gives a 5xx: the permission matrix's idea turned on what people type and craft.

Every list of the admin gets a catalogue of hostile values in each of its known query
parameters (its list filters, the search `q`, the page `p`, the order `o`, `_facets`, the page
size), every URL the permission matrix knows gets hostile values in place of each id in its
path (a history page's version id "abc"), and the custom views (Ctrl+K, the dashboard, the
autocomplete, the scan station's API, the chat's HTTP end, reports) get them in their own
parameters and bodies: huge ids (above 2^63), -1, 0, a lone surrogate (%ED%A0%80, and "\\ud800"
in JSON), NUL (%00), 10,000-character strings, 1,000-word searches, nested and garbled JSON,
wrong types, extreme dates. Each is asked by a staff member and a supervisor, and must answer
without a 5xx and without more work than a page does: the number of queries and the length of
their SQL are bounded (counted, not timed, so a loaded machine does not make it flaky; a
1,000-word search cost minutes before it was bounded).

Each request runs in a savepoint rolled back after it (a failed statement would otherwise
spoil every request after it) in one world made for the module (tests/config/permission_matrix.py).
"""

import re
from urllib.parse import quote

import pytest
from django.contrib import admin
from django.contrib.messages.storage.fallback import FallbackStorage
from django.db import connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from messaging.choices import RoomKind
from tests.admin_pages import url_patterns
from tests.config.test_permission_matrix import EXPECTATIONS
from tests.permission_matrix import STAFF, SUPERVISOR, kept_cookies, world_made

# The most work an answer to hostile input may do: far above what any page here does, far
# below what an unbounded search or period did (a 1,000-word search wrote megabytes of SQL).
MAX_QUERIES = 80
MAX_SQL_CHARACTERS = 300_000

HUGE = "99999999999999999999999"
ABOVE_BIGINT = str(2**63)
SURROGATE = "%ED%A0%80"  # a lone surrogate (U+D800) as UTF-8 would write it
NUL = "%00"
LONG = "x" * 10_000
THOUSAND_WORDS = "+".join(f"w{i}" for i in range(1000))

# Values are written as they go in a query string. Each parameter of a list gets a few that
# take different paths through the code (a key too large for the database, text where a number
# goes, a very long value); every one of the catalogue goes into all of a list's parameters at
# once, so each still meets every parameter.
CATALOGUE = [ABOVE_BIGINT, HUGE, "-1", "0", "abc", SURROGATE, NUL, LONG, "1.5", "[]", "{}"]
PER_PARAMETER = [ABOVE_BIGINT, "abc", LONG]
DATES = ["0001-01-01", "9999-12-31", "2025-13-45"]
TIMES = ["25:61", "23:59:59.9999999"]


def _savepoint():
    """A block whose writes and failed statements are undone when it ends."""

    class Block:
        def __enter__(self):
            self.atomic = transaction.atomic()
            self.atomic.__enter__()

        def __exit__(self, *exc):
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)
            return False

    return Block()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    with world_made(django_db_blocker, tmp_path_factory) as made:
        yield made


@pytest.fixture
def media_root(settings, world):
    settings.MEDIA_ROOT = world.media
    return settings.MEDIA_ROOT


def ask(world, role: str, method: str, url: str, data=None, content_type=None) -> str | None:
    """What went wrong answering the request, or None: a 5xx, or more work than a page does."""
    client = world.clients[role]
    client.raise_request_exception = False
    with kept_cookies(client), _savepoint(), CaptureQueriesContext(connection) as queries:
        if method == "GET":
            response = client.get(url)
        elif content_type:
            response = client.post(url, data, content_type=content_type)
        else:
            response = client.post(url, data or {})
        if response.streaming:
            b"".join(response.streaming_content)
    said = f"{role} {method} {url[:160]}{'…' if len(url) > 160 else ''}"
    if data is not None:
        said += f" with {str(data)[:120]}"
    if response.status_code >= 500:
        return f"{said} → {response.status_code}"
    sql = sum(len(query["sql"]) for query in queries.captured_queries)
    if len(queries) > MAX_QUERIES or sql > MAX_SQL_CHARACTERS:
        return f"{said} → {len(queries)} queries, {sql:,} characters of SQL"
    return None


def asked(world, requests) -> list[str]:
    """What went wrong with each of `requests` ((role, method, url[, data[, content type]]))."""
    return [problem for request in requests if (problem := ask(world, *request))]


def list_parameters(world, role: str, model_admin) -> list[str]:
    """The query parameters a list knows: its filters', and the list's own; and a filter on
    each of its foreign keys."""
    request = RequestFactory().get("/")
    request.user = world.people[role]
    request.session = {}
    request._messages = FallbackStorage(request)
    changelist = model_admin.get_changelist_instance(request)
    names = {name for spec in changelist.filter_specs for name in spec.expected_parameters()}
    # A crafted filter on any foreign key (?assignee__id__exact=), listed or not.
    names |= {
        f"{field.name}__id__exact" for field in model_admin.model._meta.fields if field.many_to_one
    }
    return [*sorted(names), "q", "p", "o", "_facets", "per_page"]


def values_for(name: str) -> list[str]:
    """A parameter's own values: dates where a date goes, many words for a search."""
    if name.endswith("_1"):
        return TIMES
    if re.search(r"(_from|_to|_at|date|week)(_0)?$", name):
        return DATES
    if name == "q":
        return [THOUSAND_WORDS, LONG, SURROGATE]
    return PER_PARAMETER


def written(value: str) -> str:
    return value if "%" in value or "+" in value else quote(value)


MODEL_ADMINS = {
    model._meta.label_lower: (model, model_admin)
    for model, model_admin in admin.site._registry.items()
}


@pytest.mark.django_db
class ListParameterTests:
    """Staff ask each parameter of each list they may open with its own values; a supervisor
    asks every value of the catalogue in all of a list's parameters at once."""

    @pytest.mark.parametrize("label", sorted(MODEL_ADMINS))
    def test_no_hostile_value_in_any_parameter_of_a_list_is_a_server_error(
        self, world, media_root, label
    ):
        model, model_admin = MODEL_ADMINS[label]
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        requests = []
        for role in (STAFF, SUPERVISOR):
            with kept_cookies(world.clients[role]) as client, _savepoint():
                if client.get(url).status_code != 200:
                    continue
            names = list_parameters(world, role, model_admin)
            if role == STAFF:
                requests += [
                    (role, "GET", f"{url}?{name}={written(value)}")
                    for name in names
                    for value in values_for(name)
                ]
            else:
                requests += [
                    (
                        role,
                        "GET",
                        url + "?" + "&".join(f"{name}={written(value)}" for name in names),
                    )
                    for value in [*CATALOGUE, *DATES]
                ]
        if not requests:
            pytest.skip("neither staff nor a supervisor opens this list")

        assert not (problems := asked(world, requests)), "\n".join(problems)


# --- ids in the path of every URL the permission matrix knows ------------------------------------
PATH_VALUES = ["abc", "-1", ABOVE_BIGINT, SURROGATE, NUL, "x" * 300]
ID_SEGMENT = re.compile(
    r"(?<=/)(\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?=[/.])"
)


def hostile_paths(url: str, values) -> list[str]:
    """`url` with each id in its path replaced, one at a time, by each of `values`."""
    path, _sep, query = url.partition("?")
    return [
        path[: match.start()] + value + path[match.end() :] + ("?" + query if query else "")
        for match in ID_SEGMENT.finditer(path)
        for value in values
    ]


PATTERNS = {pattern.key: pattern.route for pattern in url_patterns()}
# The URLs whose route takes an id (an object's, a version's, a room's subject, a job's…).
WITH_IDS = sorted(
    key for key in EXPECTATIONS if re.search(r"<(\w+:)?\w*id>|\(\?P<\w*id>", PATTERNS[key])
)


@pytest.mark.django_db
class PathIdTests:
    """Staff GET each URL with each id in its path replaced by each hostile value, and POST it
    with the first few; a supervisor GETs it with those."""

    @pytest.mark.parametrize("key", WITH_IDS)
    def test_no_hostile_id_in_the_path_is_a_server_error(self, world, media_root, key):
        url = EXPECTATIONS[key].url(world)
        requests = [
            *[(STAFF, "GET", address) for address in hostile_paths(url, PATH_VALUES)],
            *[(STAFF, "POST", address) for address in hostile_paths(url, PATH_VALUES[:3])],
            *[(SUPERVISOR, "GET", address) for address in hostile_paths(url, PATH_VALUES[:3])],
        ]
        assert requests, f"no id found in {url}"

        assert not (problems := asked(world, requests)), "\n".join(problems)


# --- the custom views' own parameters and bodies -------------------------------------------------
FORM = "application/x-www-form-urlencoded"


def room(world, name: str, thing: str = "waiting", kind: str = RoomKind.INCIDENT) -> str:
    return reverse(name, args=[kind, world.arg(thing)])


def custom_requests(world) -> dict[str, list]:
    """Per view, the requests (method, url[, data[, content type]]) each person sends."""
    search = reverse("admin:search")
    index = reverse("admin:index")
    autocomplete = reverse("admin:autocomplete")
    open_incident = reverse("admin:incidents_incident_device_open_incident")
    scan = reverse("admin:locations_device_scan_api")
    send, read = room(world, "chat:send"), room(world, "chat:read")
    messages_url, people = room(world, "chat:messages"), room(world, "chat:people")
    edit = reverse("chat:edit", args=[world.arg("chat_line")])
    evidence = reverse("chat:evidence", args=[world.arg("chat_line")])
    report = reverse("incident_report", args=[world.arg("xray_case"), "pdf"])
    json_type = "application/json"
    return {
        "Ctrl+K": [
            ("GET", f"{search}?s={written(value)}&extended=1&page={written(page)}")
            for value in ["SN", THOUSAND_WORDS, LONG, SURROGATE, NUL, "#" + HUGE]
            for page in ["1", "abc", "0", "-1", HUGE]
        ],
        "dashboard": [
            ("GET", f"{index}?opened_from={written(start)}&opened_to={written(end)}")
            for start, end in [
                ("0001-01-01", "9999-12-31"),
                ("9999-12-31", "0001-01-01"),
                ("abc", LONG),
                (SURROGATE, NUL),
                ("2025-02-30", "-1"),
            ]
        ],
        "autocomplete": [
            ("GET", f"{autocomplete}?{query}")
            for query in [
                f"app_label=incidents&model_name=incident&field_name=device&term={LONG}",
                f"app_label=incidents&model_name=incident&field_name=device&term={THOUSAND_WORDS}",
                f"app_label=incidents&model_name=incident&field_name=device&page={HUGE}",
                "app_label=incidents&model_name=incident&field_name=device&page=abc",
                f"app_label={SURROGATE}&model_name=x&field_name=y",
                "app_label=incidents&model_name=incident&field_name=problem_group&term=%00",
            ]
        ],
        "device's open incident": [
            ("GET", f"{open_incident}?device={written(value)}")
            for value in [ABOVE_BIGINT, HUGE, "-1", "abc", SURROGATE, LONG]
        ],
        "scan station API": [
            ("POST", scan, body, json_type)
            for body in [
                '{"op": "scan", "code": "\\ud800"}',
                '{"op": "scan", "code": "DEV:' + HUGE + '"}',
                '{"op": "scan", "code": "LOC:' + ABOVE_BIGINT + '"}',
                '{"op": "scan", "code": "A\\u0000B"}',
                '{"op": "scan", "code": ' + HUGE + "}",
                '{"op": "scan", "code": {"a": [1]}}',
                '{"op": "commit", "reason": [' * 10_000 + "]" * 10_000 + "}",
                "[" * 10_000 + "]" * 10_000,
                '{"op": ["scan"]}',
                '{"op": "scan", "code": "' + LONG + '"}',
                "{garbled",
                "",
                "null",
            ]
        ],
        "chat": [
            *[("GET", f"{messages_url}?before={written(value)}") for value in CATALOGUE],
            *[("GET", f"{people}?q={written(value)}") for value in [LONG, SURROGATE, NUL]],
            *[
                ("POST", send, {"text": "Hostile", field: value})
                for field, value in [
                    ("mentions", ABOVE_BIGINT),
                    ("mentions", HUGE),
                    ("mentions", "-1"),
                    ("mentions", "abc"),
                    ("reply_to", ABOVE_BIGINT),
                    ("reply_to", HUGE),
                    ("reply_to", "abc"),
                    ("client_id", LONG),
                    ("text", f"@[{HUGE}] @[{ABOVE_BIGINT}] look"),
                    ("text", "\x00"),
                    ("text", LONG * 10),
                ]
            ],
            # A form as a script may write it: a lone surrogate percent-encoded.
            *[
                ("POST", send, f"text=Hostile&{field}={SURROGATE}", FORM)
                for field in ("text", "client_id", "mentions", "reply_to")
            ],
            ("POST", send, {"text": "Many", "mentions": [HUGE, ABOVE_BIGINT, "1"] * 50}),
            *[("POST", read, {"up_to": value}) for value in [ABOVE_BIGINT, HUGE, "-1", "abc"]],
            *[("POST", edit, {"text": value}) for value in ["\x00", LONG * 10]],
            ("POST", edit, f"text={SURROGATE}", FORM),
            *[("POST", evidence, {"attachment": value}) for value in [HUGE, "abc", "\x00"]],
            ("POST", evidence, f"attachment={SURROGATE}", FORM),
        ],
        "reports": [
            ("GET", report.replace(".pdf", f".{written(kind)}"))
            for kind in ["abc", SURROGATE, "x" * 300, "pdf%00"]
        ],
    }


CUSTOM_VIEWS = [
    "Ctrl+K",
    "dashboard",
    "autocomplete",
    "device's open incident",
    "scan station API",
    "chat",
    "reports",
]


@pytest.mark.django_db
class CustomViewTests:
    @pytest.mark.parametrize("role", (STAFF, SUPERVISOR))
    @pytest.mark.parametrize("view", CUSTOM_VIEWS)
    def test_no_hostile_parameter_or_body_is_a_server_error(self, world, media_root, view, role):
        requests = [(role, *request) for request in custom_requests(world)[view]]

        assert not (problems := asked(world, requests)), "\n".join(problems)
