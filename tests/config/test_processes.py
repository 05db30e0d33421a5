"""Which processes are alive (config/kit/processes.py): each announces itself, one whose
announcement lapsed is dead at once, in Redis and in the embedded mode's files; the heartbeat
tells whoever listens after each announcement.

The test process itself beats as an app once config.asgi is imported (the socket tests): each
test here keeps a store of its own, and leaves this process's own entry out of what it counts."""

import json
import time

import pytest
import redis
from django.test import override_settings

from config.kit import processes
from tests.config.test_settings import run

# Process ids no real process has on this machine (Linux caps them at 2**22).
GONE_PID = 4_999_001
OTHER_PID = 4_999_002


def others(keys: set[str]) -> set[str]:
    """The processes alive but this test process's own heartbeat."""
    return keys - {processes.process_key("app")}


@pytest.fixture
def store(settings):
    """A process store in Redis for the test alone, empty before and after it."""
    settings.REDIS_KEY_PREFIX = f"{settings.REDIS_KEY_PREFIX}-processes-test"
    client = processes._redis()
    client.delete(*processes.store_keys())
    yield client
    client.delete(*processes.store_keys())
    client.close()


@pytest.fixture
def embedded(tmp_path):
    with override_settings(REDIS_URL="", DATA_DIR=tmp_path):
        yield tmp_path / "processes"


class RedisStoreTests:
    def test_a_process_is_alive_until_its_announcement_lapses(self, store, settings):
        settings.PROCESS_TTL_SECONDS = 1
        key = processes.announce("app", host="h", pid=GONE_PID)

        alive_then = processes.alive_keys()
        time.sleep(1.2)
        alive_now = processes.alive_keys()

        assert key == f"app:h:{GONE_PID}" and key in alive_then
        assert key not in alive_now
        # Reading dropped it from the store: nothing of it is left to list.
        lapse, entries = processes.store_keys()
        assert not store.hexists(entries, key) and store.zscore(lapse, key) is None

    def test_each_process_is_listed_once_oldest_first_with_what_it_said(self, store):
        processes.announce("worker", host="h", pid=GONE_PID)
        processes.announce("worker", host="h", pid=GONE_PID)
        processes.announce("app")

        listed = processes.processes()

        assert sorted(entry["kind"] for entry in listed) == ["app", "worker"]
        worker = next(entry for entry in listed if entry["kind"] == "worker")
        assert worker["host"] == "h" and worker["pid"] == GONE_PID
        assert worker["key"] == f"worker:h:{GONE_PID}"
        assert all(isinstance(entry["at"], float) for entry in listed)

    def test_a_process_announcing_again_stays_alive(self, store, settings):
        settings.PROCESS_TTL_SECONDS = 1
        key = processes.announce("app", host="h", pid=GONE_PID)
        for _ in range(3):
            time.sleep(0.5)
            processes.announce("app", host="h", pid=GONE_PID)
            assert key in processes.alive_keys()

    def test_two_deployments_on_one_redis_count_their_own_processes(self, store, settings):
        processes.announce("app", host="h", pid=GONE_PID)
        mine = processes.store_keys()
        settings.REDIS_KEY_PREFIX = "another-deployment"
        try:
            assert processes.store_keys() != mine
            assert others(processes.alive_keys()) == set()
        finally:
            store.delete(*processes.store_keys())

    @pytest.mark.parametrize("said", ["not json {", "[1, 2]", '"text"', "null", "\x00"])
    def test_a_process_whose_entry_cannot_be_read_is_alive_by_its_name(self, store, said):
        key = processes.announce("app", host="h", pid=GONE_PID)
        store.hset(processes.store_keys()[1], key, said)

        entry = processes.alive()[key]

        assert (entry["kind"], entry["host"], entry["pid"]) == ("app", "h", str(GONE_PID))
        assert [p["kind"] for p in processes.processes()] == ["app"]

    def test_when_redis_does_not_answer_nobody_is_called_dead(self, settings):
        settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there

        assert processes.alive_keys() is None
        with pytest.raises(redis.RedisError):
            processes.processes()


class EmbeddedFilesTests:
    def test_processes_announce_themselves_in_files_that_lapse(self, embedded, settings):
        settings.PROCESS_TTL_SECONDS = 1
        key = processes.announce("app", host="h", pid=GONE_PID)
        processes.announce("worker")

        alive_then = processes.alive_keys()
        time.sleep(1.2)
        processes.announce("worker")
        alive_now = processes.alive_keys()

        assert key in alive_then and key not in alive_now
        assert others(alive_now) == {processes.process_key("worker")}
        assert not (embedded / f"app-{GONE_PID}.json").exists()

    def test_a_file_of_an_older_version_counts_from_when_it_was_written(self, embedded, settings):
        embedded.mkdir(parents=True)
        entry = {"kind": "app", "pid": OTHER_PID, "host": "h", "started": 0}
        (embedded / f"app-{OTHER_PID}.json").write_text(json.dumps({**entry, "at": time.time()}))
        (embedded / "app-1.json").write_text(
            json.dumps({**entry, "pid": 1, "at": time.time() - settings.PROCESS_TTL_SECONDS - 1})
        )

        assert others(processes.alive_keys()) == {f"app:h:{OTHER_PID}"}
        assert not (embedded / "app-1.json").exists()

    @pytest.mark.parametrize(
        "text", ["", "not json", "[1, 2]", '{"kind": "app"}', '{"at": "soon"}', "\x00" * 10]
    )
    def test_a_broken_file_is_passed_over(self, embedded, text):
        embedded.mkdir(parents=True)
        (embedded / "app-7.json").write_text(text)
        processes.announce("worker")

        assert others(processes.alive_keys()) == {processes.process_key("worker")}


class HeartbeatTests:
    @pytest.fixture
    def announced(self, monkeypatch):
        """The kinds this process announced itself as, forgotten after the test."""
        monkeypatch.setattr(processes, "_announced", set())

    def test_a_beat_announces_the_process_and_tells_who_listens(self, store, announced):
        heard = []

        def receiver(sender, **kwargs):
            heard.append((kwargs["kind"], kwargs["key"], kwargs["key"] in processes.alive_keys()))

        processes.process_beat.connect(receiver)
        try:
            assert processes.this_process("app") == ""
            processes.beat("app")
        finally:
            processes.process_beat.disconnect(receiver)

        key = processes.process_key("app")
        assert heard and set(heard) == {("app", key, True)}
        assert processes.this_process("app") == key

    def test_a_failing_listener_neither_stops_the_beat_nor_the_others(
        self, store, announced, caplog
    ):
        heard = []

        def failing(sender, **kwargs):
            raise RuntimeError("listener broke")

        def listening(sender, **kwargs):
            heard.append(kwargs["kind"])

        processes.process_beat.connect(failing)
        processes.process_beat.connect(listening)
        try:
            processes.beat("worker")
        finally:
            processes.process_beat.disconnect(failing)
            processes.process_beat.disconnect(listening)

        assert "worker" in heard
        assert "listener broke" in caplog.text

    def test_a_beat_that_cannot_announce_tells_nobody(self, announced, settings, caplog):
        settings.REDIS_URL = "redis://127.0.0.1:9/0"
        heard = []

        def receiver(sender, **kwargs):
            heard.append(kwargs)

        processes.process_beat.connect(receiver)
        try:
            processes.beat("app")
        finally:
            processes.process_beat.disconnect(receiver)

        assert heard == [] and processes.this_process("app") == ""
        assert "Could not announce" in caplog.text


class SettingsTests:
    @pytest.mark.parametrize(
        ("beat", "ttl"),
        [
            ("15", "15"),
            ("30", "10"),
            ("0", "45"),
            ("-1", "3"),
            ("nan", "45"),
            ("soon", "45"),
            ("inf", "inf"),
            ("1", "99999999"),
        ],
    )
    def test_a_heartbeat_that_could_not_keep_a_process_alive_is_refused(self, tmp_path, beat, ttl):
        result = run(
            ["manage.py", "check"], tmp_path, PROCESS_BEAT_SECONDS=beat, PROCESS_TTL_SECONDS=ttl
        )

        assert result.returncode != 0
        assert "PROCESS_" in result.stderr and "Traceback" not in result.stderr[-300:]

    def test_a_beat_of_a_second_lapsing_after_three_is_accepted(self, tmp_path):
        result = run(
            ["manage.py", "check"], tmp_path, PROCESS_BEAT_SECONDS="1", PROCESS_TTL_SECONDS="3"
        )

        assert result.returncode == 0, result.stderr
