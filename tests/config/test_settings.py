"""The settings module runs embedded with nothing set and refuses a half-configured production."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'layer': settings.CHANNEL_LAYERS['default'], 'debug': settings.DEBUG, "
    "'secret': bool(settings.SECRET_KEY)}))"
)


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    keep = {"PATH", "HOME", "LANG", "SYSTEMROOT"}
    clean = {key: value for key, value in os.environ.items() if key in keep}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DATA_DIR": str(tmp_path)}, **env)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


class EmbeddedDefaultTests:
    def test_runs_on_sqlite_with_in_memory_layer_and_debug_when_nothing_is_set(self, tmp_path):
        result = run(["-c", PRINT_SETTINGS], tmp_path)

        assert result.returncode == 0, result.stderr
        values = json.loads(result.stdout)
        assert values["engine"] == "django.db.backends.sqlite3"
        assert values["layer"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
        assert values["debug"] is True
        assert values["secret"] is True

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
        result = run(
            ["-c", PRINT_SETTINGS],
            tmp_path,
            DJANGO_ENV="production",
            SECRET_KEY="x" * 50,
            ALLOWED_HOSTS="adt.example.com",
        )

        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["debug"] is False
        assert not (tmp_path / "dev-secret-key").exists()

    def test_unknown_environment_name_is_refused(self, tmp_path):
        result = run(["manage.py", "check"], tmp_path, DJANGO_ENV="staging")

        assert result.returncode != 0
        assert "DJANGO_ENV must be" in result.stderr
