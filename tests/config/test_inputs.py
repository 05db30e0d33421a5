"""A NUL in a query or a form is refused before any view reads it (config/inputs.py): 400 with a
page, or an error object for a script, saying what was wrong in the person's language; nothing
reaches the database, which stores no NUL."""

import pytest
from django.urls import reverse
from django.utils import translation

pytestmark = pytest.mark.django_db

SAID = "holds a NUL character"


@pytest.mark.parametrize(
    "query",
    [
        "?fail_item=%00",
        "?stage__exact=A%00B",
        "?q=%00",
        "?project%00=x",
        "?opened_at_from_0=2025-01-01%00",
    ],
)
def test_a_nul_in_a_list_filter_is_a_bad_request_saying_so(staff_client, query):
    response = staff_client.get(reverse("admin:incidents_incident_changelist") + query)

    assert response.status_code == 400
    assert SAID in response.content.decode()
    assert 'data-testid="error-page"' in response.content.decode()


def test_the_page_says_it_in_chinese(staff_client):
    staff_client.cookies["django_language"] = "zh-hans"
    with translation.override("zh-hans"):
        response = staff_client.get(
            reverse("admin:locations_device_changelist") + "?project=%00",
            headers={"accept-language": "zh-hans"},
        )

    assert response.status_code == 400
    assert "NUL 字符" in response.content.decode()


def test_a_nul_in_a_posted_form_is_refused_as_an_error_object_for_a_script(staff_client):
    response = staff_client.post(
        reverse("admin:locations_device_scan_api"),
        "op=scan&code=A%00B",
        content_type="application/x-www-form-urlencoded",
        headers={"accept": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert SAID in response.json()["message"]


def test_a_request_without_nul_is_served(staff_client):
    response = staff_client.get(reverse("admin:incidents_incident_changelist") + "?q=%25+00")

    assert response.status_code == 200
