"""`make test` runs the suite in several processes at once (pytest-xdist workers), each on a test
database of its own but all on one Redis. Each worker keeps its cache keys and channel-layer
groups under a prefix of its own, as two deployments sharing a Redis do (REDIS_KEY_PREFIX): the
same ids in two workers' databases never meet in one room, one person's rights or one set of
dashboard figures, and a worker clearing its cache leaves the others' keys alone."""

import contextlib
import fcntl
import os
from pathlib import Path

# "gw0", "gw1", … under xdist; "main" when the suite runs in one process.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
REDIS_KEY_PREFIX = f"test-{WORKER}-{os.getpid()}"


def keep_shared_stores_apart() -> None:
    """This process's settings and those of every process it starts (app servers, the
    background worker) use the worker's prefix; the embedded mode's file cache is a folder of
    the worker's own."""
    from django.conf import settings

    os.environ["REDIS_KEY_PREFIX"] = REDIS_KEY_PREFIX
    settings.REDIS_KEY_PREFIX = REDIS_KEY_PREFIX
    cache = settings.CACHES["default"]
    cache["KEY_PREFIX"] = REDIS_KEY_PREFIX
    if cache["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache":
        cache["LOCATION"] = Path(cache["LOCATION"]) / f"test-{WORKER}"
    layer = settings.CHANNEL_LAYERS["default"]
    if layer["BACKEND"] == "channels_redis.core.RedisChannelLayer":
        layer["CONFIG"]["prefix"] = f"{REDIS_KEY_PREFIX}:asgi"


def clear_cache() -> None:
    """Forget what this worker cached. Django's `cache.clear()` empties the whole Redis database,
    the other workers' rooms and figures with it."""
    from django.conf import settings
    from django.core.cache import cache

    if not settings.REDIS_URL:
        cache.clear()
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def shared_root(tmp_path_factory) -> Path:
    """The folder the whole run shares: the controller's when tests run in several processes."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def locked(lock_file: Path):
    """Hold `lock_file`'s lock (made with its folder when missing) for the block: the test
    processes of a run take turns at what one of them makes for all."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
