import pytest
from django.db import connection
from django.test import Client
from django.utils import translation

from config.kit.processes import process_beat
from tests.browser.servers import drop_template, seed_in_background
from tests.factories import AdminFactory, StaffFactory, SupervisorFactory
from tests.workers import keep_shared_stores_apart


def pytest_configure(config):
    keep_shared_stores_apart()
    commit_without_waiting_for_the_disk()


def commit_without_waiting_for_the_disk() -> None:
    """The suite's own connections to PostgreSQL do not wait for the disk at each commit: what
    is committed is seen alike by every connection, only a power cut could lose it, and the
    suite's databases are thrown away anyway. Tests that commit a lot (those on live servers
    and sockets, which cannot roll back) run a good tenth faster."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.postgresql":
        options = database.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c synchronous_commit=off".strip()


def pytest_sessionfinish(session):
    """The run's seeded template of the browser tests' servers goes with the run (dropped by
    the process that started the run, once every test process has ended)."""
    if not hasattr(session.config, "workerinput"):
        drop_template(session.config._tmp_path_factory.getbasetemp())


def pytest_collection_modifyitems(items):
    """Browser tests last: Playwright's sync API keeps an event loop running in the main thread
    for the rest of the session, which the asyncio tests cannot share. Tests marked `postgres`
    are skipped on SQLite."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
    if connection.vendor == "postgresql":
        return
    for item in items:
        if marker := item.get_closest_marker("postgres"):
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(reason=f"PostgreSQL only: {reason}".rstrip(": ")))


@pytest.fixture(scope="session", autouse=True)
def browser_demo_seeded_early(request, tmp_path_factory):
    """When the run holds browser tests, their servers' demo is seeded from the start, beside
    the other tests (tests/browser/servers.py, `seed_in_background`)."""
    if any(item.get_closest_marker("browser") for item in request.session.items):
        seed_in_background(tmp_path_factory)


@pytest.fixture(autouse=True)
def no_presence_cleared_behind_the_tests():
    """The test process beats as an app once config.asgi is imported (the socket tests); its
    beats clear no presence behind the tests' backs, nor touch the database between tests
    (tests/messaging/test_presence.py clears presences itself). Before every test: a test that
    changes INSTALLED_APPS runs the apps' ready() again, which connects the receiver again."""
    process_beat.disconnect(dispatch_uid="messaging.process_beat")


@pytest.fixture(autouse=True)
def english():
    """Each test starts in English, whatever language an earlier request activated."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Demo data hashes a password per account; the slow production hasher adds nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def figures_counted_on_every_page(settings):
    """The sidebar's and the bell's figures are counted on every page: whether a page finds them
    kept depends on writes anywhere on the PostgreSQL server (the suite's other processes too),
    and the tests that count a page's queries must count the same page each time;
    tests/config/test_kept.py tests keeping them."""
    settings.KEPT_FIGURES = False


@pytest.fixture(autouse=True)
def dashboard_counts_every_view(settings):
    """The dashboard counts its figures on every view, so a test that changes data behind the
    product's back (a bulk update) reads them fresh; tests/incidents/test_dashboard_kept.py
    tests keeping them."""
    settings.DASHBOARD_FIGURES_SECONDS = 0


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploads of a test land in its own folder, never in the checkout's var/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def admin_user(db):
    return AdminFactory()


@pytest.fixture
def staff_user(db):
    return StaffFactory()


@pytest.fixture
def supervisor_user(db):
    return SupervisorFactory()


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(admin_user):
    return _client_for(admin_user)


@pytest.fixture
def staff_client(staff_user):
    return _client_for(staff_user)


@pytest.fixture
def supervisor_client(supervisor_user):
    return _client_for(supervisor_user)
