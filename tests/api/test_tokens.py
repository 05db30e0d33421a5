"""API tokens: made by an administrator (in the admin or with `manage.py api_token`), shown
once, stored hashed, revoked; every use is kept for the audit."""

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from incidents.models import ApiToken, ApiTokenUse
from incidents.services.tokens import api_token_authenticate, api_token_create, api_token_revoke
from tests.api.conftest import bearer
from tests.factories import IncidentFactory


@pytest.mark.django_db
class ApiTokenCreateTests:
    def test_the_secret_is_returned_once_and_only_its_digest_is_stored(self):
        _token, secret = api_token_create(name="FCT-LINE-3", scopes=["results:write"])

        stored = ApiToken.objects.get()
        assert secret.startswith("adt_") and len(secret) > 40
        assert stored.digest == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in str(ApiToken.objects.values().get())
        assert stored.prefix == secret[:10]
        assert stored.scopes == ["results:write"]

    def test_two_tokens_never_share_a_secret(self):
        _first, one = api_token_create(name="A", scopes=["devices:read"])
        _second, two = api_token_create(name="B", scopes=["devices:read"])

        assert one != two

    @pytest.mark.parametrize(
        ("options", "field"),
        [
            ({"name": "", "scopes": ["devices:read"]}, "name"),
            ({"name": "X" * 101, "scopes": ["devices:read"]}, "name"),
            ({"name": "bad\x00name", "scopes": ["devices:read"]}, "name"),
            ({"name": "MES", "scopes": []}, "scopes"),
            ({"name": "MES", "scopes": ["root"]}, "scopes"),
            ({"name": "MES", "scopes": ["devices:read"], "expires_in_days": 0}, "expires_in_days"),
            (
                {"name": "MES", "scopes": ["devices:read"], "expires_in_days": 10**9},
                "expires_in_days",
            ),
        ],
    )
    def test_a_token_that_cannot_work_is_refused_saying_why(self, options, field):
        with pytest.raises(ValidationError) as refused:
            api_token_create(**options)

        assert field in refused.value.message_dict
        assert not ApiToken.objects.exists()

    def test_a_name_in_use_is_refused_until_that_token_is_revoked(self):
        token, _secret = api_token_create(name="MES", scopes=["incidents:read"])
        with pytest.raises(ValidationError):
            api_token_create(name="MES", scopes=["incidents:read"])

        api_token_revoke(token=token)

        assert api_token_create(name="MES", scopes=["incidents:read"])[0].pk != token.pk


@pytest.mark.django_db
class ApiTokenAuthenticateTests:
    def test_a_usable_token_is_found_by_its_secret(self):
        token, secret = api_token_create(name="MES", scopes=["incidents:read"])

        assert api_token_authenticate(secret) == token

    def test_revoked_expired_and_unknown_tokens_are_not(self):
        revoked, revoked_secret = api_token_create(name="OLD", scopes=["incidents:read"])
        api_token_revoke(token=revoked)
        expired, expired_secret = api_token_create(
            name="TEMP", scopes=["incidents:read"], expires_in_days=1
        )
        ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(1))

        assert api_token_authenticate(revoked_secret) is None
        assert api_token_authenticate(expired_secret) is None
        assert api_token_authenticate("adt_" + "x" * 43) is None
        assert api_token_authenticate(revoked_secret[4:]) is None


@pytest.mark.django_db
class ApiTokenUseTests:
    def test_every_request_with_a_token_is_kept_with_its_name(self):
        token, secret = api_token_create(name="FCT-LINE-3", scopes=["incidents:read"])
        incident = IncidentFactory()
        client = bearer(secret)

        client.get("/api/v1/incidents/")
        client.get(f"/api/v1/incidents/{incident.pk}/", HTTP_X_REQUEST_ID="req-12345678")

        uses = list(ApiTokenUse.objects.order_by("id"))
        assert [(use.method, use.path) for use in uses] == [
            ("GET", "/api/v1/incidents/"),
            ("GET", f"/api/v1/incidents/{incident.pk}/"),
        ]
        assert uses[1].request_id == "req-12345678"
        assert str(uses[0]).startswith("FCT-LINE-3")
        token.refresh_from_db()
        assert token.last_used_at is not None

    def test_a_refused_token_leaves_no_use(self):
        token, secret = api_token_create(name="OLD", scopes=["incidents:read"])
        api_token_revoke(token=token)

        bearer(secret).get("/api/v1/incidents/")

        assert not ApiTokenUse.objects.exists()


@pytest.mark.django_db
class ApiTokenCommandTests:
    def test_create_prints_the_secret_once_list_never_does(self):
        out, err = StringIO(), StringIO()
        call_command(
            "api_token", "create", "FCT-1", "--scope", "results:write", stdout=out, stderr=err
        )
        secret = out.getvalue().strip()
        listed = StringIO()
        call_command("api_token", "list", stdout=listed)

        assert api_token_authenticate(secret).name == "FCT-1"
        assert "FCT-1" in listed.getvalue() and secret not in listed.getvalue()

    def test_revoke_stops_the_token(self):
        out = StringIO()
        call_command("api_token", "create", "FCT-2", "--scope", "devices:read", stdout=out)

        call_command("api_token", "revoke", "FCT-2", stdout=StringIO())

        assert api_token_authenticate(out.getvalue().strip()) is None
        with pytest.raises(CommandError):
            call_command("api_token", "revoke", "FCT-2", stdout=StringIO())


ADD = "admin:incidents_apitoken_add"
LIST = "admin:incidents_apitoken_changelist"
USES = "admin:incidents_apitokenuse_changelist"


@pytest.mark.django_db
class ApiTokenAdminTests:
    def test_anonymous_is_sent_to_sign_in(self, client):
        for name in (ADD, LIST, USES):
            assert "/login/" in client.get(reverse(name))["Location"]

    @pytest.mark.parametrize("who", ["staff_client", "supervisor_client"])
    def test_people_who_are_not_administrators_see_no_token(self, request, who):
        browser = request.getfixturevalue(who)
        api_token_create(name="MES", scopes=["incidents:read"])

        assert browser.get(reverse(LIST)).status_code == 403
        assert browser.get(reverse(USES)).status_code == 403
        assert browser.get(reverse(ADD)).status_code == 403
        assert (
            browser.post(reverse(ADD), {"name": "X", "scopes": ["results:write"]}).status_code
            == 403
        )
        assert ApiToken.objects.count() == 1

    def test_an_administrator_creates_a_token_and_sees_its_secret_once(self, admin_client):
        page = admin_client.post(
            reverse(ADD),
            {"name": "FCT-LINE-3", "scopes": ["results:write", "incidents:read"], "language": ""},
        )

        token = ApiToken.objects.get()
        secret = page.context["secret"]
        assert page.status_code == 201
        assert secret in page.content.decode()
        assert "no-store" in page["Cache-Control"]
        assert api_token_authenticate(secret) == token
        assert token.scopes == ["results:write", "incidents:read"]
        change = admin_client.get(reverse("admin:incidents_apitoken_change", args=[token.pk]))
        listing = admin_client.get(reverse(LIST))
        assert change.status_code == listing.status_code == 200
        assert secret not in change.content.decode() + listing.content.decode()

    def test_a_refused_token_shows_the_form_again_with_the_reason(self, admin_client):
        api_token_create(name="MES", scopes=["incidents:read"])

        page = admin_client.post(reverse(ADD), {"name": "MES", "scopes": ["incidents:read"]})

        assert page.status_code == 200
        assert "in use" in page.content.decode()
        assert ApiToken.objects.count() == 1

    def test_an_administrator_revokes_tokens_from_the_list(self, admin_client):
        token, secret = api_token_create(name="MES", scopes=["incidents:read"])

        admin_client.post(
            reverse(LIST), {"action": "revoke_selected", "_selected_action": [token.pk]}
        )

        token.refresh_from_db()
        assert token.revoked_at is not None
        assert bearer(secret).get("/api/v1/incidents/").status_code == 401

    def test_uses_are_listed_read_only(self, admin_client):
        token, secret = api_token_create(name="MES", scopes=["incidents:read"])
        bearer(secret).get("/api/v1/incidents/")
        use = ApiTokenUse.objects.get()

        listing = admin_client.get(reverse(USES) + f"?token__id__exact={token.pk}")
        page = admin_client.get(reverse("admin:incidents_apitokenuse_change", args=[use.pk]))

        assert "/api/v1/incidents/" in listing.content.decode()
        assert page.context["has_change_permission"] is False
        assert admin_client.get(reverse("admin:incidents_apitokenuse_add")).status_code == 403
        delete = reverse("admin:incidents_apitokenuse_delete", args=[use.pk])
        assert admin_client.post(delete, {"post": "yes"}).status_code == 403
        assert ApiTokenUse.objects.count() == 1
