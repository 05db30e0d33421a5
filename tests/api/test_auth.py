"""Who may ask the API: a usable token with the scope, or a person signed in, who then sees
exactly what their screens show (`incidents.access`); every refusal has one JSON shape."""

import re
from datetime import timedelta

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone
from ninja import Schema

from incidents.api import results, schemas, webhooks
from incidents.api.auth import TokenOrSession
from incidents.api.errors import ApiError
from incidents.models import ApiToken, ProjectAccess
from incidents.services.tokens import api_token_create, api_token_revoke
from tests.api.conftest import bearer
from tests.factories import DepartmentFactory, IncidentFactory, StaffFactory

HIDDEN = "Phoenix"


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]


@pytest.fixture
def hidden_incident(db):
    """An incident of a project restricted to one department."""
    insiders = DepartmentFactory(code="NDA")
    restriction = ProjectAccess.objects.create(project=HIDDEN)
    restriction.departments.add(insiders)
    incident = IncidentFactory(device__project=HIDDEN)
    incident.insiders = insiders
    return incident


@pytest.mark.django_db
class TokenTests:
    def test_a_usable_token_with_the_scope_reads(self, token_for):
        incident = IncidentFactory()

        answer = bearer(token_for("incidents:read")).get(f"/api/v1/incidents/{incident.pk}/")

        assert answer.status_code == 200
        assert answer.json()["id"] == incident.pk

    @pytest.mark.parametrize(
        "header",
        [
            "Bearer adt_unknownunknownunknownunknownunknownunknown",
            "Bearer " + "x" * 10_000,
            "Bearer ",
            "Basic dXNlcjpwYXNz",
            "Token adt_abc",
            "Bearer adt_\udcff",
        ],
    )
    def test_an_unknown_or_malformed_token_is_401(self, header):
        answer = Client(headers={"Authorization": header}).get("/api/v1/incidents/")

        assert answer.status_code == 401
        assert error_of(answer)["code"] in ("invalid_token", "not_authenticated")

    def test_a_revoked_token_is_401(self):
        token, secret = api_token_create(name="OLD", scopes=["incidents:read"])
        api_token_revoke(token=token)

        answer = bearer(secret).get("/api/v1/incidents/")

        assert answer.status_code == 401
        assert error_of(answer) == {
            "code": "invalid_token",
            "message": "This token is unknown, revoked or expired.",
        }

    def test_an_expired_token_is_401(self):
        token, secret = api_token_create(name="TEMP", scopes=["incidents:read"], expires_in_days=1)
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))

        assert bearer(secret).get("/api/v1/incidents/").status_code == 401

    @pytest.mark.parametrize(
        ("url", "scope"),
        [
            ("/api/v1/incidents/", "devices:read"),
            ("/api/v1/problem-groups/", "devices:read"),
            ("/api/v1/devices/", "incidents:read"),
            ("/api/v1/locations/", "results:write"),
        ],
    )
    def test_a_token_without_the_scope_is_403_naming_it(self, token_for, url, scope):
        answer = bearer(token_for(scope)).get(url)

        assert answer.status_code == 403
        assert error_of(answer)["code"] == "forbidden"
        assert ":read" in error_of(answer)["message"]

    def test_a_token_sees_no_restricted_project(self, machine, hidden_incident):
        seen = IncidentFactory()

        listed = machine.get("/api/v1/incidents/").json()["results"]

        assert [row["id"] for row in listed] == [seen.pk]
        assert machine.get(f"/api/v1/incidents/{hidden_incident.pk}/").status_code == 404
        assert machine.get(f"/api/v1/devices/{hidden_incident.device_id}/").status_code == 404

    def test_a_token_is_answered_in_its_language(self, token_for):
        secret = token_for("devices:read", language="zh-hans")

        answer = bearer(secret).get("/api/v1/incidents/")

        assert answer.status_code == 403
        assert re.search(r"[\u4e00-\u9fff]", error_of(answer)["message"])


@pytest.mark.django_db
class SessionTests:
    def test_anonymous_is_401(self, client):
        answer = client.get("/api/v1/incidents/")

        assert answer.status_code == 401
        assert error_of(answer)["code"] == "not_authenticated"

    def test_a_person_signed_in_reads_what_their_screens_show(self, staff_client):
        incident = IncidentFactory()

        assert staff_client.get(f"/api/v1/incidents/{incident.pk}/").json()["id"] == incident.pk
        assert staff_client.get("/api/v1/devices/").status_code == 200

    def test_a_restricted_projects_incident_is_404_for_an_outsider(self, hidden_incident):
        outsider, insider = Client(), Client()
        outsider.force_login(StaffFactory())
        insider.force_login(StaffFactory(department=hidden_incident.insiders))
        url = f"/api/v1/incidents/{hidden_incident.pk}/"

        assert outsider.get(url).status_code == 404
        assert error_of(outsider.get(url))["code"] == "not_found"
        assert outsider.get("/api/v1/incidents/").json()["results"] == []
        assert outsider.get(f"/api/v1/devices/{hidden_incident.device_id}/").status_code == 404
        assert insider.get(url).json()["id"] == hidden_incident.pk
        assert [r["id"] for r in insider.get("/api/v1/incidents/").json()["results"]] == [
            hidden_incident.pk
        ]

    def test_a_person_without_the_role_is_403(self, client):
        client.force_login(StaffFactory(roles=["nonexistent"]))

        answer = client.get("/api/v1/incidents/")

        assert answer.status_code == 403
        assert error_of(answer)["code"] == "forbidden"

    def test_a_person_is_answered_in_their_language(self, client):
        client.force_login(StaffFactory(roles=["nonexistent"], language="zh-hans"))

        answer = client.get("/api/v1/incidents/")

        assert re.search(r"[\u4e00-\u9fff]", error_of(answer)["message"])

    def test_a_signed_in_write_needs_the_csrf_token(self, staff_user):
        factory = RequestFactory(enforce_csrf_checks=True)
        request = factory.post("/api/v1/results/", data={}, content_type="application/json")
        request.user = staff_user
        request._dont_enforce_csrf_checks = False

        with pytest.raises(ApiError) as refused:
            TokenOrSession()(request)

        assert (refused.value.status, refused.value.code) == (403, "csrf")

    def test_a_signed_in_read_needs_no_csrf_token(self, staff_user):
        request = RequestFactory().get("/api/v1/incidents/")
        request.user = staff_user

        assert TokenOrSession()(request).person == staff_user


@pytest.mark.django_db
class ReferenceTests:
    def test_the_schema_is_openapi_3_and_documents_every_endpoint(self, client):
        schema = client.get("/api/v1/schema/").json()

        assert schema["openapi"].startswith("3.")
        assert {
            "/api/v1/incidents/",
            "/api/v1/incidents/{incident_id}/",
            "/api/v1/devices/",
            "/api/v1/devices/{device_id}/",
            "/api/v1/locations/",
            "/api/v1/locations/{location_id}/",
            "/api/v1/problem-groups/",
            "/api/v1/problem-groups/{group_id}/",
            "/api/v1/results/",
        } <= set(schema["paths"])
        assert (
            "BearerAuth" in str(schema["components"]["securitySchemes"])
            or schema["components"]["securitySchemes"]
        )

    def test_every_answer_and_body_is_shown_by_an_example_it_would_be(self, client):
        schema = client.get("/api/v1/schema/").json()
        components = schema["components"]["schemas"]

        def example_of(content: dict):
            shape = content["application/json"]["schema"]
            if "$ref" in shape:
                return components[shape["$ref"].rsplit("/", 1)[1]].get("examples")
            return shape.get("examples") or content["application/json"].get("example")

        missing = []
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                answer = operation["responses"].get("200") or operation["responses"].get("201")
                if not example_of(answer["content"]):
                    missing.append(f"{method.upper()} {path} answer")
                if "requestBody" in operation and not example_of(
                    operation["requestBody"]["content"]
                ):
                    missing.append(f"{method.upper()} {path} body")
        assert missing == []

    @pytest.mark.parametrize("module", [schemas, results, webhooks])
    def test_each_example_of_an_answer_is_one_the_api_could_give(self, module):
        for name in dir(module):
            shape = getattr(module, name)
            if isinstance(shape, type) and issubclass(shape, Schema):
                for example in (shape.model_config.get("json_schema_extra") or {}).get(
                    "examples", []
                ):
                    shape.model_validate(example)

    @pytest.mark.parametrize(
        "url", ["/api/v1/nothing/", "/api/v1/incidents/1/timeline/x/", "/api/v1/results/x"]
    )
    def test_an_address_the_api_does_not_have_is_a_404_in_its_shape(self, machine, url):
        for answer in (machine.get(url), machine.post(url), Client().get(url)):
            assert answer.status_code == 404
            assert error_of(answer)["code"] == "not_found"

    def test_the_reference_page_loads_nothing_from_another_site(self, client):
        page = client.get("/api/v1/docs/").content.decode()

        assert "/static/ninja/swagger-ui-bundle.js" in page
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", page)
        assert '"validatorUrl": null' in page

    def test_its_scripts_are_the_installed_static_files(self, client):
        from django.contrib.staticfiles import finders

        assert finders.find("ninja/swagger-ui-bundle.js")
        assert finders.find("ninja/swagger-ui-init.js")
        assert finders.find("ninja/swagger-ui.css")
