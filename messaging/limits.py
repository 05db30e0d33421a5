"""How much one person may send: one budget whatever they send through (the socket's `send`
frame, the HTTP send with files), kept where every process sees it.

Two token buckets per person: messages (CHAT_BURST at once, then CHAT_RATE_PER_SECOND) and
people @mentioned (CHAT_MENTIONS_PER_MINUTE at once, refilled over a minute). A message is taken
from both at once or from neither: one refused spends nothing. With Redis (production) the
buckets are one script run atomically on the server, so sockets and requests of several
processes share them exactly; in the embedded mode (one process) they sit in the cache under a
lock. Should the store be unreachable, sending goes on unlimited rather than stopping the chat.
"""

import logging
import math
import threading
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

PREFIX = "chat:budget"
# What `take` answers when a bucket is empty.
RATE_LIMITED = "rate_limited"
TOO_MANY_MENTIONS = "too_many_mentions"

# KEYS: the buckets; ARGV: now, then capacity, rate (a second), cost for each bucket. Returns 0
# when every bucket had enough (and takes from each), else the number of the first that did not
# (and takes nothing).
_SCRIPT = """
local now = tonumber(ARGV[1])
local levels = {}
for i = 1, #KEYS do
  local capacity = tonumber(ARGV[3 * i - 1])
  local rate = tonumber(ARGV[3 * i])
  local cost = tonumber(ARGV[3 * i + 1])
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'at')
  local tokens, at = tonumber(state[1]), tonumber(state[2])
  if tokens == nil or at == nil then tokens, at = capacity, now end
  tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
  if tokens < cost then return i end
  levels[i] = tokens - cost
end
for i = 1, #KEYS do
  local capacity, rate = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  redis.call('HSET', KEYS[i], 'tokens', tostring(levels[i]), 'at', tostring(now))
  redis.call('EXPIRE', KEYS[i], math.ceil(capacity / rate) + 1)
end
return 0
"""

_lock = threading.Lock()
_script = None


def _buckets(person_id: int, mentions: int) -> list[tuple[str, float, float, int, str]]:
    """(key, capacity, rate a second, cost, what an empty one answers) of each bucket."""
    per_minute = settings.CHAT_MENTIONS_PER_MINUTE
    return [
        (
            f"{PREFIX}:messages:{person_id}",
            settings.CHAT_BURST,
            settings.CHAT_RATE_PER_SECOND,
            1,
            RATE_LIMITED,
        ),
        (
            f"{PREFIX}:mentions:{person_id}",
            per_minute,
            per_minute / 60,
            mentions,
            TOO_MANY_MENTIONS,
        ),
    ]


def take(*, person_id: int, mentions: int = 0) -> str | None:
    """Take one message and `mentions` people mentioned from the person's budget: None when it
    had enough, else which limit stopped it (RATE_LIMITED, TOO_MANY_MENTIONS)."""
    buckets = _buckets(person_id, mentions)
    try:
        empty = _take_redis(buckets) if settings.REDIS_URL else _take_cache(buckets)
    except Exception:
        logger.exception("Could not read the sending budget of person %s", person_id)
        return None
    return buckets[empty - 1][4] if empty else None


def _take_redis(buckets) -> int:
    global _script
    if _script is None:
        import redis

        _script = redis.Redis.from_url(settings.REDIS_URL).register_script(_SCRIPT)
    args = [time.time()]
    for _key, capacity, rate, cost, _answer in buckets:
        args += [capacity, rate, cost]
    return int(_script(keys=[bucket[0] for bucket in buckets], args=args))


def _take_cache(buckets) -> int:
    """The script's rule on the cache, for one process (the embedded mode)."""
    now = time.time()
    with _lock:
        stored = cache.get_many([bucket[0] for bucket in buckets])
        levels = []
        for number, (key, capacity, rate, cost, _answer) in enumerate(buckets, start=1):
            tokens, at = stored.get(key) or (capacity, now)
            tokens = min(capacity, tokens + max(0.0, now - at) * rate)
            if tokens < cost:
                return number
            levels.append(tokens - cost)
        for (key, capacity, rate, _cost, _answer), level in zip(buckets, levels, strict=True):
            cache.set(key, (level, now), math.ceil(capacity / rate) + 1)
    return 0
