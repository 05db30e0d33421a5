"""The probes: /healthz says the process answers, /readyz that it can serve (database reached,
migrations applied, Redis reached), each checked against a real failure."""

from unittest import mock

import pytest
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings

from scripts.servers import free_port


@pytest.mark.django_db
class HealthTests:
    def test_healthz_answers_anyone_without_a_session_or_a_query(
        self, client, django_assert_num_queries
    ):
        with django_assert_num_queries(0):
            response = client.get("/healthz")

        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert "no-cache" in response["Cache-Control"]

    def test_readyz_says_ready_when_the_database_and_redis_answer(self, client):
        response = client.get("/readyz")

        assert response.status_code == 200
        assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}

    def test_readyz_is_unavailable_while_redis_does_not_answer(self, client):
        # Nothing listens on a free port: what a stopped Redis looks like.
        with override_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
            response = client.get("/readyz")

        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert response.json()["checks"]["redis"].startswith("unreachable")
        assert response.json()["checks"]["database"] == "ok"

    def test_readyz_is_unavailable_while_migrations_are_not_applied(self, client):
        # The plan of a database one migration behind.
        with mock.patch.object(MigrationExecutor, "migration_plan", return_value=[object()]):
            response = client.get("/readyz")

        assert response.status_code == 503
        assert response.json()["checks"]["database"] == "1 migration(s) not applied"

    def test_without_redis_configured_only_the_database_counts(self, client):
        with override_settings(REDIS_URL=""):
            response = client.get("/readyz")

        assert response.status_code == 200
        assert response.json()["checks"]["redis"] == "ok"


def test_the_site_icon_is_found_where_browsers_look_for_it(client):
    response = client.get("/favicon.ico", follow=True)
    assert response.redirect_chain[0][1] == 301
    assert response.redirect_chain[0][0].endswith(".png")
