"""The settings module runs embedded with nothing set and refuses a half-configured production."""

import json
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = secrets.token_urlsafe(50)
PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": GOOD_SECRET,
    "ALLOWED_HOSTS": "adt.example.com",
    "SITE_BASE_URL": "https://adt.example.com",
}
PRINT_SETTINGS = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'layer': settings.CHANNEL_LAYERS['default'], 'debug': settings.DEBUG, "
    "'secret': bool(settings.SECRET_KEY)}))"
)


# Requests through the whole stack of a process started with nothing set, as `make run` is:
# the status, type and start of each answer.
FETCH_PAGES = """
import json
import django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="127.0.0.1")
pages = {}
for path in ("/static/css/adt.css", "/static/js/row_actions.js", "/static/favicon.svg",
             "/no/such/page/"):
    response = client.get(path)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    pages[path] = [response.status_code, response["Content-Type"], body.decode()[:4000]]
print(json.dumps(pages))
"""


def print_settings(*names: str) -> str:
    return (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {list(names)!r}}}))"
    )


def example_values() -> dict[str, str]:
    """The variables `.env.example` sets (its uncommented lines)."""
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    pairs = [line.split("=", 1) for line in lines if "=" in line and not line.startswith("#")]
    return {key.strip(): value.strip() for key, value in pairs}


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    keep = {"PATH", "HOME", "LANG", "SYSTEMROOT"}
    clean = {key: value for key, value in os.environ.items() if key in keep}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DATA_DIR": str(tmp_path)}, **env)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


class EmbeddedDefaultTests:
    def test_runs_on_sqlite_with_in_memory_layer_and_debug_off_when_nothing_is_set(self, tmp_path):
        result = run(["-c", PRINT_SETTINGS], tmp_path)

        assert result.returncode == 0, result.stderr
        values = json.loads(result.stdout)
        assert values["engine"] == "django.db.backends.sqlite3"
        assert values["layer"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
        assert values["debug"] is False
        assert values["secret"] is True

    def test_a_developer_turns_debug_on(self, tmp_path):
        result = run(["-c", PRINT_SETTINGS], tmp_path, DEBUG="1")

        assert json.loads(result.stdout)["debug"] is True

    def test_with_nothing_set_the_app_serves_its_styles_and_scripts_and_a_styled_404(
        self, tmp_path
    ):
        """What `make run` gives a newcomer: DEBUG off, yet CSS and JS are served (no
        collectstatic), the default host is allowed, and a wrong address is the product's 404,
        never Django's technical page."""
        result = run(["-c", FETCH_PAGES], tmp_path)

        assert result.returncode == 0, result.stderr
        pages = json.loads(result.stdout)
        assert pages["/static/css/adt.css"][:2] == [200, 'text/css; charset="utf-8"']
        assert pages["/static/js/row_actions.js"][0] == 200
        assert pages["/static/favicon.svg"][0] == 200
        status, _type, html = pages["/no/such/page/"]
        assert status == 404
        assert 'data-testid="error-page"' in html
        assert "URLconf" not in html and "DEBUG = True" not in html

    def test_generated_development_secret_is_stable_across_starts(self, tmp_path):
        run(["-c", PRINT_SETTINGS], tmp_path)
        first = (tmp_path / "dev-secret-key").read_text()
        run(["-c", PRINT_SETTINGS], tmp_path)

        assert (tmp_path / "dev-secret-key").read_text() == first
        assert len(first) >= 50

    def test_manage_check_passes_with_nothing_set(self, tmp_path):
        result = run(["manage.py", "check"], tmp_path)

        assert result.returncode == 0, result.stderr


class EnvironmentSwitchTests:
    def test_database_url_switches_to_postgresql(self, tmp_path):
        result = run(
            ["-c", PRINT_SETTINGS], tmp_path, DATABASE_URL="postgres://u:p@127.0.0.1:5432/x"
        )

        assert json.loads(result.stdout)["engine"] == "django.db.backends.postgresql"

    def test_redis_url_switches_to_redis_layer_without_read_timeout(self, tmp_path):
        result = run(["-c", PRINT_SETTINGS], tmp_path, REDIS_URL="redis://127.0.0.1:6379/0")

        layer = json.loads(result.stdout)["layer"]
        assert layer["BACKEND"] == "channels_redis.core.RedisChannelLayer"
        assert layer["CONFIG"]["hosts"] == [
            {"address": "redis://127.0.0.1:6379/0", "socket_timeout": None}
        ]


class ProductionModeTests:
    @pytest.mark.parametrize(
        "command", [["manage.py", "check"], ["-c", "import config.asgi"]], ids=["manage", "asgi"]
    )
    def test_refuses_to_start_without_secret_key_with_a_clear_message(self, tmp_path, command):
        result = run(command, tmp_path, DJANGO_ENV="production", ALLOWED_HOSTS="adt.example.com")

        assert result.returncode != 0
        assert "SECRET_KEY must be set when DJANGO_ENV=production" in result.stderr
        assert "Traceback" not in result.stderr

    def test_refuses_to_start_without_allowed_hosts(self, tmp_path):
        result = run(["manage.py", "check"], tmp_path, DJANGO_ENV="production", SECRET_KEY="x" * 50)

        assert result.returncode != 0
        assert "ALLOWED_HOSTS must be set" in result.stderr
        assert "Traceback" not in result.stderr

    def test_starts_with_debug_off_when_required_settings_are_given(self, tmp_path):
        result = run(["-c", PRINT_SETTINGS], tmp_path, **PRODUCTION)

        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["debug"] is False
        assert not (tmp_path / "dev-secret-key").exists()

    def test_unknown_environment_name_is_refused(self, tmp_path):
        result = run(["manage.py", "check"], tmp_path, DJANGO_ENV="staging")

        assert result.returncode != 0
        assert "DJANGO_ENV must be" in result.stderr


class ProductionSecretKeyTests:
    @pytest.mark.parametrize(
        "command", [["manage.py", "check"], ["-c", "import config.asgi"]], ids=["manage", "asgi"]
    )
    def test_the_placeholder_of_the_example_file_is_refused_in_one_line(self, tmp_path, command):
        placeholder = example_values()["SECRET_KEY"]

        result = run(command, tmp_path, **{**PRODUCTION, "SECRET_KEY": placeholder})

        assert result.returncode != 0
        assert "SECRET_KEY is the placeholder of .env.example" in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1

    def test_a_key_shorter_than_50_characters_is_refused_saying_how_long_it_is(self, tmp_path):
        result = run(["manage.py", "check"], tmp_path, **{**PRODUCTION, "SECRET_KEY": "k" * 49})

        assert result.returncode != 0
        assert "SECRET_KEY must be at least 50 characters long" in result.stderr
        assert "(it has 49)" in result.stderr
        assert "Traceback" not in result.stderr

    def test_a_key_of_50_characters_is_accepted(self, tmp_path):
        result = run(["-c", PRINT_SETTINGS], tmp_path, **{**PRODUCTION, "SECRET_KEY": "k" * 50})

        assert result.returncode == 0, result.stderr

    def test_the_example_file_with_a_real_secret_is_a_configuration_production_accepts(
        self, tmp_path
    ):
        values = {**example_values(), "SECRET_KEY": GOOD_SECRET}

        result = run(["-c", PRINT_SETTINGS], tmp_path, **values)

        assert values["DJANGO_ENV"] == "production"
        assert result.returncode == 0, result.stderr


class ProductionSiteBaseUrlTests:
    def test_refuses_to_start_without_the_address_links_in_e_mails_point_to(self, tmp_path):
        values = {key: value for key, value in PRODUCTION.items() if key != "SITE_BASE_URL"}

        result = run(["manage.py", "check"], tmp_path, **values)

        assert result.returncode != 0
        assert "SITE_BASE_URL must be set when DJANGO_ENV=production" in result.stderr
        assert "Traceback" not in result.stderr

    def test_the_given_address_is_used_without_a_trailing_slash(self, tmp_path):
        values = {**PRODUCTION, "SITE_BASE_URL": "https://adt.example.com/"}

        result = run(["-c", print_settings("SITE_BASE_URL")], tmp_path, **values)

        assert json.loads(result.stdout) == {"SITE_BASE_URL": "https://adt.example.com"}


class DevelopmentSecretFileTests:
    def test_the_generated_secret_is_readable_by_its_owner_only(self, tmp_path):
        result = run(["-c", PRINT_SETTINGS], tmp_path)

        assert result.returncode == 0, result.stderr
        assert stat.S_IMODE((tmp_path / "dev-secret-key").stat().st_mode) == 0o600

    def test_an_existing_secret_readable_by_others_is_tightened_and_kept(self, tmp_path):
        path = tmp_path / "dev-secret-key"
        path.write_text("s" * 60)
        path.chmod(0o644)

        result = run(["-c", PRINT_SETTINGS], tmp_path)

        assert result.returncode == 0, result.stderr
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text() == "s" * 60


HTTPS_SETTINGS = print_settings(
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
)


class HttpsSettingsTests:
    def test_production_trusts_no_proxy_header_unless_one_is_named(self, tmp_path):
        result = run(["-c", HTTPS_SETTINGS], tmp_path, **PRODUCTION)

        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["SECURE_PROXY_SSL_HEADER"] is None

    @pytest.mark.parametrize(
        "name", ["X-Forwarded-Proto", "x-forwarded-proto", "HTTP_X_FORWARDED_PROTO"]
    )
    def test_the_named_proxy_header_is_trusted_to_say_https(self, tmp_path, name):
        values = {**PRODUCTION, "SECURE_PROXY_SSL_HEADER": name}

        result = run(["-c", HTTPS_SETTINGS], tmp_path, **values)

        assert json.loads(result.stdout)["SECURE_PROXY_SSL_HEADER"] == [
            "HTTP_X_FORWARDED_PROTO",
            "https",
        ]

    def test_embedded_mode_sends_no_hsts_by_default(self, tmp_path):
        result = run(["-c", HTTPS_SETTINGS], tmp_path)

        assert json.loads(result.stdout) == {
            "SECURE_PROXY_SSL_HEADER": None,
            "SECURE_HSTS_SECONDS": 0,
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
            "SECURE_HSTS_PRELOAD": False,
        }

    def test_production_starts_with_one_hour_of_hsts(self, tmp_path):
        result = run(["-c", HTTPS_SETTINGS], tmp_path, **PRODUCTION)

        assert json.loads(result.stdout)["SECURE_HSTS_SECONDS"] == 3600

    def test_hsts_comes_from_the_environment(self, tmp_path):
        values = {
            **PRODUCTION,
            "SECURE_HSTS_SECONDS": "31536000",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
            "SECURE_HSTS_PRELOAD": "true",
        }

        result = run(["-c", HTTPS_SETTINGS], tmp_path, **values)

        assert json.loads(result.stdout) == {
            "SECURE_PROXY_SSL_HEADER": None,
            "SECURE_HSTS_SECONDS": 31536000,
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
            "SECURE_HSTS_PRELOAD": True,
        }

    @pytest.mark.parametrize(
        "name",
        [
            "DEBUG",
            "SITE_BASE_URL",
            "SECURE_PROXY_SSL_HEADER",
            "SECURE_HSTS_SECONDS",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS",
            "SECURE_HSTS_PRELOAD",
            "SECURE_SSL_REDIRECT",
            "LOG_FORMAT",
        ],
    )
    def test_every_new_variable_is_documented_in_the_example_file(self, name):
        assert f"{name}=" in (ROOT / ".env.example").read_text(encoding="utf-8")


class DeployCheckTests:
    def test_check_deploy_is_clean_with_the_production_settings_behind_a_tls_proxy(self, tmp_path):
        result = run(
            ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            tmp_path,
            **PRODUCTION,
            SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        )

        assert result.returncode == 0, result.stdout + result.stderr
        assert "no issues" in result.stdout

    def test_production_redirects_plain_http_but_answers_the_probes(self, tmp_path):
        result = run(
            ["-c", print_settings("SECURE_SSL_REDIRECT", "SECURE_REDIRECT_EXEMPT", "LOG_FORMAT")],
            tmp_path,
            **PRODUCTION,
        )

        values = json.loads(result.stdout)
        assert values["SECURE_SSL_REDIRECT"] is True
        assert {"^healthz$", "^readyz$"} <= set(values["SECURE_REDIRECT_EXEMPT"])
        assert values["LOG_FORMAT"] == "json"


@pytest.mark.django_db
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's setting"
)
def test_the_app_asks_postgresql_to_compile_no_query():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_collectstatic_compresses_scripts_and_styles_but_not_source_maps():
    """Source maps are read only by developer tools: compressing their 5 MB at every deployment
    doubled collectstatic's time. Scripts and styles stay compressed for nginx to serve."""
    from django.conf import settings
    from whitenoise.compress import Compressor

    compressor = Compressor(extensions=settings.WHITENOISE_SKIP_COMPRESS_EXTENSIONS, quiet=True)

    assert not compressor.should_compress("ninja/swagger-ui-bundle.js.map")
    assert not compressor.should_compress("unfold/fonts/icons.woff2")
    assert compressor.should_compress("ninja/swagger-ui-bundle.js")
    assert compressor.should_compress("unfold/css/styles.css")
    assert compressor.should_compress("vendor/zxing_reader.wasm")
