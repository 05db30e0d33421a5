"""Signs of life of background work (legacy imports, reports). The worker beats in the cache,
which every process sees and which no transaction waits on, from a thread of its own, however
long its work goes without a word; whoever looks at a running job (its page, the list, a worker
starting) marks it failed once it has been silent for too long: its worker died."""

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.core.cache import cache

logger = logging.getLogger(__name__)
CACHE_SECONDS = 60 * 60
Job = TypeVar("Job")


@contextmanager
def beating(key: str, *, every: float, attempt: int | None = None) -> Iterator[None]:
    """Record under `key` that the work of this block (its `attempt`, for work that may be
    started again) is alive: now, then every `every` seconds until the block ends. A missed beat
    never ends the work; a long silence will."""
    stop = threading.Event()

    def beat() -> None:
        try:
            cache.set(key, {"attempt": attempt, "at": time.time()}, CACHE_SECONDS)
        except Exception:
            logger.exception("Could not record the heartbeat %s", key)

    def beat_until_stopped() -> None:
        while not stop.wait(every):
            beat()

    beat()
    thread = threading.Thread(target=beat_until_stopped, name=f"heartbeat-{key}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def last_beat(key: str, *, attempt: int | None = None) -> float | None:
    """When the work beating under `key` (its `attempt`) last did (a Unix time); None when it
    never did, or only an earlier attempt did."""
    beat = cache.get(key)
    if not isinstance(beat, dict) or beat.get("attempt") != attempt:
        return None
    return beat.get("at")


def fail_silent(
    jobs: Iterable[Job],
    *,
    last_sign_of_life: Callable[[Job], float | None],
    silent_for: float,
    fail: Callable[[Job], bool],
) -> int:
    """Fail each running job whose worker has given no sign of life for `silent_for` seconds
    (`fail(job)`, True when it did; False when the job changed meanwhile); return how many
    failed. A job with no sign of life to give (None: it still waits in the queue) is no
    failure: the next worker to start runs it."""
    silent_since = time.time() - silent_for
    failed = 0
    for job in jobs:
        last = last_sign_of_life(job)
        if last is not None and last < silent_since and fail(job):
            failed += 1
    return failed
