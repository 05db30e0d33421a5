"""Which processes of the site are alive: each app process and worker announces itself every
PROCESS_BEAT_SECONDS, and one announced within its PROCESS_TTL_SECONDS is alive.

With Redis the announcements live in two keys, read and written in one round trip each by a
script that takes the time from Redis (one clock for every host): a sorted set of process →
when its announcement lapses, and a hash of process → what it said of itself. Reading drops
the lapsed ones. In the embedded mode, without Redis, each process writes a file under
DATA_DIR/processes that counts for PROCESS_TTL_SECONDS after it was written.

A process is named "<kind>:<host>:<pid>" (`process_key`). After each announcement the
heartbeat sends `process_beat` (kind, key): an upper floor that keeps something per process
(the chat's presence) clears what the processes no longer alive left behind.
"""

import json
import logging
import os
import socket
import threading
import time
from pathlib import Path

import redis
from django.conf import settings
from django.dispatch import Signal

logger = logging.getLogger(__name__)

# Sent by the heartbeat thread after each announcement of this process: kind, key.
process_beat = Signal()

_STARTED = time.time()
_beating: dict[str, threading.Thread] = {}
# Kinds this process has announced itself as from its heartbeat (`this_process`).
_announced: set[str] = set()

_ANNOUNCE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
"""

_ALIVE = """
local t = redis.call('TIME')
local now = string.format('%.6f', tonumber(t[1]) + tonumber(t[2]) / 1000000)
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #gone > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('HDEL', KEYS[2], unpack(gone))
end
local alive = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
if #alive == 0 then
  return {}
end
local entries = redis.call('HMGET', KEYS[2], unpack(alive))
local both = {}
for i, key in ipairs(alive) do
  both[2 * i - 1] = key
  both[2 * i] = entries[i]
end
return both
"""


def process_key(kind: str, host: str | None = None, pid: int | None = None) -> str:
    """The name of a process (this one unless `host` and `pid` are given)."""
    return f"{kind}:{host or socket.gethostname()}:{pid or os.getpid()}"


def this_process(kind: str) -> str:
    """This process's name while its heartbeat announces it as `kind`; "" when it does not
    (a process without a heartbeat: what it keeps is judged by its own age)."""
    return process_key(kind) if kind in _announced else ""


def store_keys() -> tuple[str, str]:
    """The sorted set of lapse times and the hash of entries in Redis, under the
    deployment's REDIS_KEY_PREFIX (two deployments sharing a Redis count their own)."""
    prefix = f"{settings.REDIS_KEY_PREFIX}:" if settings.REDIS_KEY_PREFIX else ""
    return f"{prefix}adt:processes:lapse", f"{prefix}adt:processes:entries"


def _process_dir() -> Path:
    return Path(settings.DATA_DIR) / "processes"


def _redis() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2, decode_responses=True
    )


def announce(kind: str, *, host: str | None = None, pid: int | None = None) -> str:
    """Say that a process (this one unless `host` and `pid` are given) is alive as `kind`, for
    PROCESS_TTL_SECONDS from now; its key."""
    entry = {
        "kind": kind,
        "host": host or socket.gethostname(),
        "pid": pid or os.getpid(),
        "started": _STARTED,
        "at": time.time(),
    }
    entry["key"] = key = process_key(kind, entry["host"], entry["pid"])
    ttl = settings.PROCESS_TTL_SECONDS
    if settings.REDIS_URL:
        client = _redis()
        try:
            client.eval(_ANNOUNCE, 2, *store_keys(), key, ttl, json.dumps(entry))
        finally:
            client.close()
    else:
        folder = _process_dir()
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{kind}-{entry['pid']}.tmp"
        partial.write_text(json.dumps({**entry, "until": entry["at"] + ttl}))
        partial.replace(folder / f"{kind}-{entry['pid']}.json")
    return key


def _read_file(path: Path) -> tuple[str, dict, float] | None:
    """A process file's key, entry and lapse time; None when it cannot be read."""
    try:
        entry = json.loads(path.read_text())
        until = float(entry.get("until", entry["at"] + settings.PROCESS_TTL_SECONDS))
        key = entry.get("key") or process_key(entry["kind"], entry["host"], entry["pid"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return key, entry, until


def _alive_in_files() -> dict[str, dict]:
    now = time.time()
    found = {}
    for path in _process_dir().glob("*.json"):
        read = _read_file(path)
        if read is None:
            continue
        key, entry, until = read
        if now < until:
            found[key] = entry
        else:
            path.unlink(missing_ok=True)
    return found


def _alive_in_redis() -> dict[str, dict]:
    client = _redis()
    try:
        both = client.eval(_ALIVE, 2, *store_keys())
    finally:
        client.close()
    found = {}
    for key, value in zip(both[::2], both[1::2], strict=True):
        try:
            entry = json.loads(value) if value else None
        except ValueError:
            entry = None
        found[key] = entry if isinstance(entry, dict) else _named_only(key)
    return found


def _named_only(key: str) -> dict:
    """What a process's name tells of it, when what it said of itself cannot be read."""
    kind, _, rest = key.partition(":")
    host, _, pid = rest.rpartition(":")
    return {"key": key, "kind": kind, "host": host, "pid": pid, "started": 0, "at": 0}


def alive() -> dict[str, dict]:
    """The processes alive now, by key (one round trip to Redis). Raises when Redis does not
    answer."""
    return _alive_in_redis() if settings.REDIS_URL else _alive_in_files()


def alive_keys() -> set[str] | None:
    """The keys of the processes alive now; None when that cannot be told (Redis does not
    answer), so that a caller judges by something else rather than call everyone dead."""
    try:
        return set(alive())
    except (redis.RedisError, OSError):
        logger.warning("Could not read which processes are alive", exc_info=True)
        return None


def processes() -> list[dict]:
    """The processes alive, oldest first."""
    return sorted(alive().values(), key=lambda entry: entry.get("started", 0))


def beat(kind: str) -> None:
    """One heartbeat: announce this process, then tell whoever listens (`process_beat`)."""
    try:
        key = announce(kind)
    except Exception:
        logger.warning("Could not announce this %s process", kind, exc_info=True)
        return
    _announced.add(kind)
    for receiver, error in process_beat.send_robust(sender=None, kind=kind, key=key):
        if isinstance(error, Exception):
            logger.error("%s failed after a heartbeat", receiver, exc_info=error)


def start_heartbeat(kind: str) -> None:
    """Announce this process as `kind` ("app" or "worker") now and every
    PROCESS_BEAT_SECONDS, in a thread of its own."""
    if kind in _beating:
        return

    def keep_beating():
        while True:
            beat(kind)
            time.sleep(settings.PROCESS_BEAT_SECONDS)

    thread = threading.Thread(target=keep_beating, name=f"{kind}-heartbeat", daemon=True)
    _beating[kind] = thread
    thread.start()
