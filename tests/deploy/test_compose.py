"""The deployment files: the compose file is valid (checked by `docker compose config` where the
client exists), and its shape is the one the README describes."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "compose"


def compose_client() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not compose_client(), reason="the docker compose client is not installed")
def test_docker_compose_accepts_the_file(tmp_path):
    folder = tmp_path / "compose"
    shutil.copytree(COMPOSE, folder)
    shutil.copy(COMPOSE / ".env.example", folder / ".env")

    result = subprocess.run(
        ["docker", "compose", "-f", str(folder / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr


def test_the_services_and_their_order():
    services = yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())["services"]

    assert set(services) == {"db", "redis", "migrate", "app", "worker", "nginx"}
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert "--appendonly" in services["redis"]["command"]
    # Migrations run once, before the app processes and the worker, never by them.
    assert services["migrate"]["restart"] == "no"
    for name in ("app", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert services["app"]["deploy"]["replicas"] == "${APP_REPLICAS:-2}"
    assert services["nginx"]["depends_on"]["app"] == {"condition": "service_healthy"}


def test_the_image_runs_as_its_own_user_with_static_files_collected():
    dockerfile = (COMPOSE / "Dockerfile").read_text()

    assert "\nUSER adt\n" in dockerfile
    assert "collectstatic --no-input" in dockerfile
    assert "COPY --from=app /srv/adt/app/staticfiles" in dockerfile


def test_the_plain_server_units_name_what_they_run():
    units = {path.name: path.read_text() for path in (COMPOSE / "systemd").iterdir()}

    assert "--port %i" in units["adt-app@.service"]
    assert "User=adt" in units["adt-app@.service"]
    assert "manage.py db_worker" in units["adt-worker.service"]
    assert "manage.py migrate" in units["adt-migrate.service"]
    assert "Requires=adt-migrate.service" in units["adt-app@.service"]
    assert "manage.py backup" in units["adt-backup.service"]
    assert "manage.py send_digest" in units["adt-digest.service"]


def test_a_request_that_timed_out_is_never_sent_to_a_second_process():
    site = (COMPOSE / "nginx" / "adt.conf.template").read_text()

    retries = [line.strip() for line in site.splitlines() if "proxy_next_upstream " in line]
    assert retries and all("timeout" not in line.split() for line in retries)


def test_app_processes_start_afresh_after_a_number_of_requests():
    unit = (COMPOSE / "systemd" / "adt-app@.service").read_text()
    dockerfile = (COMPOSE / "Dockerfile").read_text()

    for text in (unit, dockerfile):
        assert "--limit-max-requests " in text
        assert "--limit-max-requests-jitter " in text
    assert "Restart=always" in unit
