"""Web requests run with a PostgreSQL statement timeout, workers and commands without; a request
whose query is stopped by it answers a page that says so (503), in the reader's language, not
the server error page."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.test import RequestFactory
from django.utils import translation

from config.errors import StatementTimeoutMiddleware

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's statement timeout"),
]

SHOW = """
import json, sys
if sys.argv[1] == "web":
    import config.asgi  # noqa: F401  (what uvicorn loads)
else:
    import django
    django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SHOW statement_timeout")
    print(json.dumps(cursor.fetchone()[0]))
"""


def statement_timeout_of(kind: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "ADT_WEB_PROCESS"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    db = connection.settings_dict  # the test database, which exists
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    done = subprocess.run(
        [sys.executable, "-c", SHOW, kind],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=settings.BASE_DIR,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_web_process_runs_its_statements_with_a_timeout():
    assert statement_timeout_of("web") == f"{settings.WEB_STATEMENT_TIMEOUT_MS // 1000}s"


def test_a_worker_or_command_runs_without_one():
    assert statement_timeout_of("command") == "0"


def cancelled_query() -> OperationalError:
    """A real query stopped by PostgreSQL at a statement timeout."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 50")
            cursor.execute("SELECT pg_sleep(2)")
    except OperationalError as error:
        return error
    raise AssertionError("the query was not stopped")


@pytest.mark.parametrize(("language", "words"), [("en", "took too long"), ("zh-hans", "耗时过长")])
def test_a_stopped_query_answers_a_page_that_says_so(admin_user, language, words):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    middleware = StatementTimeoutMiddleware(lambda request: None)

    with translation.override(language):
        response = middleware.process_exception(request, cancelled_query())

    assert response.status_code == 503
    assert words in response.content.decode()


def test_other_database_errors_are_left_to_the_server_error_page(admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user

    answer = StatementTimeoutMiddleware(lambda r: None).process_exception(
        request, OperationalError("connection refused")
    )

    assert answer is None


def test_a_write_that_found_the_database_locked_answers_a_page_that_says_so(admin_user):
    request = RequestFactory().post("/admin/")
    request.user = admin_user

    response = StatementTimeoutMiddleware(lambda r: None).process_exception(
        request, OperationalError("database is locked")
    )

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Nothing was saved" in response.content.decode()
