"""Each token's pace: at most `API_TOKEN_REQUESTS_PER_MINUTE` requests a minute (a setting;
6,000 by default, far above what a station sends), counted in the shared cache so every process
counts together. A token over it gets 429 with `Retry-After` and costs nothing more: no use is
written, no body read, and the other stations keep their speed."""

import math
import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from incidents.api.errors import ApiError
from incidents.models import ApiToken

WINDOW_SECONDS = 60


def token_pace_check(token: ApiToken) -> None:
    """Counts one request of `token`; refuses it (429) when the token is over its pace."""
    limit = settings.API_TOKEN_REQUESTS_PER_MINUTE
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    # The digest, not the id: ids start again in every database that shares the cache.
    key = f"api-pace:{token.digest[:32]}:{window}"
    cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
    try:
        count = cache.incr(key)
    except ValueError:
        # The count expired between the two calls: this request opens it again.
        cache.set(key, 1, timeout=WINDOW_SECONDS * 2)
        count = 1
    if count <= limit:
        return
    wait = max(1, math.ceil(WINDOW_SECONDS - now % WINDOW_SECONDS))
    refusal = ApiError(
        429,
        "rate_limited",
        _("This token sent more than %(limit)s requests this minute: wait %(wait)s s.")
        % {"limit": limit, "wait": wait},
    )
    refusal.headers = {"Retry-After": str(wait)}
    raise refusal
