"""Background work (legacy imports, reports) shows it is alive by beating in the cache from a
thread of its own; a job whose worker has been silent too long is failed, one still waiting in
the queue never is."""

import time

import pytest
from django.core.cache import cache

from incidents.services.heartbeats import beating, fail_silent, last_beat


@pytest.fixture
def key():
    name = f"test-heartbeat:{time.time_ns()}"
    yield name
    cache.delete(name)


class BeatingTests:
    def test_the_work_beats_at_once_and_again_while_it_runs(self, key):
        with beating(key, every=0.05, attempt=2):
            first = last_beat(key, attempt=2)
            time.sleep(0.3)
            later = last_beat(key, attempt=2)

        assert first is not None
        assert later > first

    def test_the_beat_of_another_attempt_is_no_sign_of_this_one(self, key):
        with beating(key, every=60, attempt=1):
            assert last_beat(key, attempt=2) is None
            assert last_beat(key, attempt=1) is not None

    def test_work_that_never_beat_has_no_beat(self, key):
        assert last_beat(key) is None
        cache.set(key, 1700000000.0)  # not a beat this code writes
        assert last_beat(key) is None

    def test_a_cache_that_does_not_answer_never_ends_the_work(self, key, monkeypatch, caplog):
        def refuse(*args, **kwargs):
            raise ConnectionError("the cache does not answer")

        monkeypatch.setattr(cache, "set", refuse)
        with beating(key, every=0.05):
            time.sleep(0.1)
            done = True

        assert done
        assert "Could not record the heartbeat" in caplog.text


class FailSilentTests:
    def test_only_jobs_silent_past_the_limit_are_failed_and_counted(self):
        now = time.time()
        jobs = {"silent": now - 120, "alive": now - 5, "waiting": None, "taken": now - 120}
        failed = []

        def fail(job):
            failed.append(job)
            return job != "taken"  # another process finished it meanwhile

        count = fail_silent(jobs, last_sign_of_life=jobs.get, silent_for=60, fail=fail)

        assert count == 1
        assert failed == ["silent", "taken"]
