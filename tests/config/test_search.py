"""List searches ask each table for its own matches: the same rows as Django's admin search, found
through indexes at factory scale."""

import pytest
from django.contrib.admin import ModelAdmin, site
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config.kit.search import (
    INDEXED,
    INDEXED_WEIGHT,
    ROW_BY_ROW,
    UNION,
    character_indexed_columns,
    cheapest_matching,
    matches_from_start,
    matching,
    planned_cost,
)
from incidents.models import Incident
from locations.models import Device
from tests.factories import (
    DeviceFactory,
    IncidentFactory,
    LocationFactory,
    ProblemGroupFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db

INCIDENTS = reverse("admin:incidents_incident_changelist")
# The planner's costs and the character indexes are PostgreSQL's (SQLite searches one way).
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's")


@pytest.fixture
def incidents(db):
    engineer = StaffFactory(display_name="Zhao Qiang")
    group = ProblemGroupFactory(number="BUG-2026-0042")
    shelf = LocationFactory(code="XR-B2-S07")
    return [
        IncidentFactory(
            device=DeviceFactory(serial_number="G18A0001", project="Falcon"),
            fail_item="CAM_AF",
            description="Camera does not focus after the drop test",
        ),
        IncidentFactory(
            device=DeviceFactory(serial_number="H20B0002", project="Gannet", location=shelf),
            fail_item="BT_RSSI",
            problem_group=group,
            assignee=engineer,
        ),
        IncidentFactory(
            device=DeviceFactory(serial_number="G18C0003", project="Gannet"),
            fail_item="WIFI_TX",
            description="Weak Wi-Fi, 50% of the units",
        ),
    ]


def searched(model, term: str) -> tuple[set[int], set[int]]:
    """The ids the product's search finds for `term`, and those Django's own search finds with
    the same search fields."""
    request = RequestFactory().get("/")
    product = site._registry[model]
    fields = product.get_search_fields(request)
    queryset = model._default_manager.all()
    found, _ = product.get_search_results(request, queryset, term)
    plain = type("Plain", (ModelAdmin,), {"search_fields": fields})(model, site)
    expected, _ = plain.get_search_results(request, queryset, term)
    return set(found.values_list("pk", flat=True)), set(expected.values_list("pk", flat=True))


@pytest.mark.parametrize(
    "term",
    [
        "g18",  # a serial number's start, any case
        "0002",  # the middle of one
        "gannet",  # a project
        "CAM_AF",  # a fail item
        "drop test",  # two words of a description: each must match
        '"drop test"',  # a quoted phrase
        "zhao",  # the assignee
        "BUG-2026",  # a problem group
        "gannet wifi",  # terms matching different tables, together
        "G18 BT_RSSI",  # terms that no single incident matches
        "50%",  # a LIKE wildcard is matched as itself
        "nothing-like-this",
    ],
)
def test_the_incident_search_finds_what_django_admin_search_finds(incidents, term):
    found, expected = searched(Incident, term)

    assert found == expected


def test_a_number_finds_that_incident_and_a_word_is_no_number(incidents):
    first = incidents[0]

    assert searched(Incident, str(first.pk))[0] >= {first.pk}
    assert searched(Incident, "G18")[0] == {incidents[0].pk, incidents[2].pk}


@pytest.mark.parametrize("model", [Incident, Device])
def test_a_single_letter_or_digit_matches_from_the_start_of_a_value(incidents, model):
    starts, _ = searched(model, "h")
    inside, substring = searched(model, "0")

    assert starts == {thing.pk for thing in _of(model, {incidents[1].device}, incidents)}
    assert inside == set()  # every serial number holds "0", none (nor any number) starts with it
    assert substring  # which Django's own search would list


@pytest.mark.parametrize(
    "term",
    [
        "TX",  # two letters inside a fail item
        "03",  # two digits inside a serial number
        "掉线",  # a Chinese word: two characters inside a description
        "线",  # one Chinese character
        "Wi-Fi TX",  # a two-letter word among longer ones
    ],
)
def test_any_other_short_term_is_found_anywhere_in_a_value(incidents, term):
    incidents[2].description = "Wi-Fi 掉线 after the drop test"
    incidents[2].save()

    found, expected = searched(Incident, term)

    assert found == expected
    assert incidents[2].pk in found


def _of(model, devices, incidents) -> list:
    if model is Device:
        return list(devices)
    return [incident for incident in incidents if incident.device in devices]


def test_a_number_written_as_the_list_writes_it_finds_that_incident(admin_client, incidents):
    first = incidents[0]
    page = admin_client.get(INCIDENTS, {"q": f"#{first.pk}"})

    assert [incident.pk for incident in page.context["cl"].result_list] == [first.pk]


@pytest.mark.parametrize("term", ["EVT", "evt2", '"shelf 7"'])
def test_devices_are_found_by_hardware_version_and_place_name(incidents, term):
    device = incidents[1].device
    device.hardware_version = "EVT2"
    device.save()
    device.location.name = "X-ray shelf 7"
    device.location.save()

    found, expected = searched(Device, term)

    assert found == expected
    assert device.pk in found


def test_a_number_is_compared_as_a_number(admin_client, incidents):
    # No digit in its text, so only its number can find it, whatever key it was given.
    first = IncidentFactory(device=DeviceFactory(serial_number="NO-DIGITS", project="Falcon"))
    page = admin_client.get(INCIDENTS, {"q": str(first.pk)})
    too_large = admin_client.get(INCIDENTS, {"q": "9" * 25})

    assert first.pk in {incident.pk for incident in page.context["cl"].result_list}
    sql = str(page.context["cl"].queryset.query)
    assert f'"id" = {first.pk}' in sql  # the key's index, not the text of every key
    assert '"id"::text' not in sql
    assert first.pk not in searched(Incident, f"0{first.pk}")[0]  # as text, "07" is not 7
    assert too_large.status_code == 200
    assert list(too_large.context["cl"].result_list) == []


@pytest.mark.parametrize("term", ["xr-b2", "g18", "gannet", "^H20", "=G18A0001"])
def test_the_device_search_finds_what_django_admin_search_finds(incidents, term):
    found, expected = searched(Device, term)

    assert found == expected


def test_the_incident_list_asks_the_device_table_for_its_own_matches(admin_client, incidents):
    page = admin_client.get(INCIDENTS, {"q": "gannet"})

    assert [incident.pk for incident in page.context["cl"].result_list] == [
        incidents[2].pk,
        incidents[1].pk,
    ]
    sql = str(page.context["cl"].queryset.query)
    assert '"device_id" IN (SELECT' in sql
    assert "DISTINCT" not in sql


def _fields(model) -> list[str]:
    return site._registry[model].get_search_fields(RequestFactory().get("/"))


def test_a_union_asks_each_table_through_its_own_index_and_row_by_row_is_one_test():
    fields = _fields(Incident)
    union = str(Incident.objects.filter(matching(Incident, fields, "gannet", UNION)).query)
    row_by_row = matching(Incident, fields, "gannet", ROW_BY_ROW)
    row_by_row = str(Incident.objects.filter(row_by_row).query)

    assert " UNION " in union  # each part through its own index, not one OR over every row
    assert " UNION " not in row_by_row
    assert '"device_id" IN (SELECT' in row_by_row  # each table still asked once


@pytest.mark.parametrize("model", [Incident, Device])
@pytest.mark.parametrize(
    "term", ["g18", "0002", "gannet", "CAM_AF", "zhao", "BUG-2026", "h", "0", "TX", "50%", "none"]
)
def test_both_forms_of_a_search_find_the_same_rows(incidents, model, term):
    fields, rows = _fields(model), model._default_manager.all()

    found = {
        form: set(rows.filter(matching(model, fields, term, form)).values_list("pk", flat=True))
        for form in (UNION, ROW_BY_ROW)
    }

    assert found[UNION] == found[ROW_BY_ROW]


@postgresql_only
@pytest.mark.parametrize("term", ["gannet", "G", "0002"])
def test_a_term_is_searched_in_the_form_the_planner_expects_to_cost_less(incidents, term):
    fields, rows = _fields(Incident), Incident.objects.all()
    costs = {
        form: planned_cost(rows.filter(matching(Incident, fields, term, form)))
        for form in (UNION, ROW_BY_ROW)
    }

    chosen = str(rows.filter(cheapest_matching(rows, fields, term)).query)

    assert (" UNION " in chosen) == (costs[UNION] <= costs[ROW_BY_ROW])


# --- bounded searches -----------------------------------------------------------------------------
THOUSAND_WORDS = " ".join(f"w{i}" for i in range(1000))
CUT = "Only the first 10 words of the search were used, each up to 100 characters."


def sql_written(client, url: str, query: dict) -> tuple[object, int]:
    """The answer, and how many characters of SQL it took."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, query)
    return response, sum(len(query["sql"]) for query in queries.captured_queries)


@pytest.mark.parametrize(
    "changelist",
    [
        "admin:incidents_incident_changelist",  # the indexed search
        "admin:incidents_employee_changelist",  # the admin's own
        "admin:incidents_problemgroup_changelist",
        "admin:locations_location_changelist",
        "admin:messaging_message_changelist",  # the chat's full-text search
    ],
)
def test_a_search_of_many_words_uses_the_first_ten_and_says_so(admin_client, changelist):
    url = reverse(changelist)
    response, sql = sql_written(admin_client, url, {"q": THOUSAND_WORDS[:600]})
    _ten, sql_of_ten = sql_written(admin_client, url, {"q": " ".join(THOUSAND_WORDS.split()[:10])})

    assert response.status_code == 200
    assert CUT in response.content.decode()
    # A hundred words cost the database what their first ten do (give or take a timestamp's
    # digits in the page's other queries).
    assert sql <= sql_of_ten + 200


def test_the_first_ten_words_are_searched(incidents):
    """What is left of a long search still finds: each of its first ten words must match."""
    found, _ = searched(Incident, "CAM_AF Falcon " + " ".join(["focus"] * 8) + " nothing-like-it")

    assert found == {incidents[0].pk}


@pytest.mark.parametrize(
    "changelist", ["admin:messaging_message_changelist", "admin:incidents_incident_changelist"]
)
def test_a_word_of_ten_thousand_characters_is_searched_by_its_beginning(admin_client, changelist):
    response = admin_client.get(reverse(changelist), {"q": "x" * 10_000})

    assert response.status_code == 200
    assert CUT in response.content.decode()


def test_every_list_with_a_search_bounds_it():
    from config.kit.search import BoundedSearchMixin

    unbounded = [
        model_admin
        for model_admin in site._registry.values()
        if model_admin.search_fields and not isinstance(model_admin, BoundedSearchMixin)
    ]

    assert unbounded == []


def test_rows_known_to_be_none_cost_nothing_to_plan():
    assert planned_cost(Incident.objects.filter(pk__in=[])) == 0


# --- short terms through the character indexes (PostgreSQL) ---------------------------------------

SHORT_TERMS = [
    "三",  # one Chinese character
    "三次",  # a two-character word
    "次三",  # its characters the other way round: not the word
    "TX",  # two letters inside a fail item
    "tx",  # in lower case
    "黄勇",  # a person's name
    "黄a",  # Chinese and a Latin letter together
    "A黄",
    "，",  # Chinese punctuation
    "%",  # LIKE's wildcards and escape, matched as themselves
    "_",
    "\\",
    "5%",
    "é",  # letters with a case beyond ASCII
    "É",
    "ß",
    "-",
    "\U0001f600",  # outside the Basic Multilingual Plane
    "Zz",  # nowhere
]


@pytest.fixture
def worded(db):
    """Incidents whose descriptions, fail items, devices and people hold short terms in every
    way the search compares them."""
    engineer = StaffFactory(display_name="黄勇 Huang Yong")
    texts = [
        ("第三次测试掉线，重启后恢复", "WIFI_TX_POWER", "SC01A0001", "Gannet"),
        ("三号工位 Café 电压低 5% 以下", "BT_RSSI", "SC01A0002", "三星"),
        ("次三 a_b \\ 黄a test", "CAM_AF", "SC01A0003", "Gannet"),
        ("RX only, straße, ÉCRAN \U0001f600", "AUDIO-L", "TX-7", "Petrel"),
        ("", "", "SC01A0005", ""),
    ]
    made = []
    for number, (description, item, serial, project) in enumerate(texts):
        made.append(
            IncidentFactory(
                device=DeviceFactory(serial_number=serial, project=project),
                description=description,
                fail_item=item,
                assignee=engineer if number == 4 else None,
            )
        )
    return made


@postgresql_only
@pytest.mark.parametrize("model", [Incident, Device])
@pytest.mark.parametrize("term", SHORT_TERMS)
def test_a_short_term_through_the_character_indexes_finds_the_same_rows(worded, model, term):
    fields, rows = _fields(model), model._default_manager.all()

    found = {
        form: set(rows.filter(matching(model, fields, term, form)).values_list("pk", flat=True))
        for form in (UNION, ROW_BY_ROW, INDEXED)
    }

    assert found[INDEXED] == found[UNION] == found[ROW_BY_ROW]
    assert found[INDEXED] == searched(model, term)[1] or matches_from_start(term)


@postgresql_only
def test_the_character_indexes_are_asked_for_a_short_term_only():
    indexed = str(
        Incident.objects.filter(matching(Incident, _fields(Incident), "三次", INDEXED)).query
    )
    longer = str(
        Incident.objects.filter(matching(Incident, _fields(Incident), "三次方", INDEXED)).query
    )

    assert {("incidents_incident", "description"), ("locations_device", "project")} <= set(
        character_indexed_columns("default")
    )
    assert 'string_to_array(UPPER("incidents_incident"."description"::text), NULL)' in indexed
    assert "= ANY(ARRAY(SELECT" in indexed  # each related table's keys looked up by its index
    assert "string_to_array" not in longer  # a trigram index serves three characters


@postgresql_only
def test_a_table_with_a_column_without_a_character_index_is_tested_as_before(worded):
    # The device list searches hardware versions and places too, which have none.
    sql = str(Device.objects.filter(matching(Device, _fields(Device), "TX", INDEXED)).query)

    assert 'string_to_array(UPPER("locations_device"."serial_number"::text)' not in sql
    assert 'UPPER("locations_device"."serial_number"::text) LIKE' in sql


@postgresql_only
@pytest.mark.parametrize("term", ["三", "三次", "TX", "黄勇", "SC"])
def test_a_short_term_is_searched_in_the_form_the_planner_weighs_cheapest(worded, term):
    fields, rows = _fields(Incident), Incident.objects.all()
    forms = {form: matching(Incident, fields, term, form) for form in (UNION, ROW_BY_ROW, INDEXED)}
    costs = {form: planned_cost(rows.filter(condition)) for form, condition in forms.items()}
    costs[INDEXED] *= INDEXED_WEIGHT

    chosen = str(rows.filter(cheapest_matching(rows, fields, term)).query)

    cheapest = min(costs, key=costs.get)
    assert chosen == str(rows.filter(forms[cheapest]).query)


@pytest.mark.parametrize(
    "term",
    [
        "三",
        "三次",
        "TX",
        "a%00b",  # NUL
        "%ED%A0%80",  # a lone surrogate, as a browser could send its bytes
        "%E4%B8" * 3,  # a character cut short
        "%E4%B8%89" * 5000,  # five thousand "三"
        "%22%E4%B8%89+%E6%AC%A1%22",  # a quoted phrase of short words
        "'",
        "%E4%B8%89+%25",
        "%F0%9F%98%80",  # outside the Basic Multilingual Plane
    ],
)
def test_a_short_or_hostile_search_answers_without_a_server_error(admin_client, worded, term):
    for changelist in (INCIDENTS, reverse("admin:locations_device_changelist")):
        response = admin_client.get(f"{changelist}?q={term}")

        assert response.status_code in (200, 400), (term, response.status_code)


@postgresql_only
def test_one_character_is_found_by_the_indexes_alone_and_two_are_tested_again():
    def sql(term: str) -> str:
        return str(
            Incident.objects.filter(matching(Incident, _fields(Incident), term, INDEXED)).query
        )

    assert "STRPOS" not in sql("三")  # holding the character is holding the term
    assert "STRPOS" in sql("三次")  # holding both characters is not holding the word
