"""WebSocket clients of the real ASGI application, logged in by their session cookie."""

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from tests.workers import REDIS_KEY_PREFIX

ORIGIN = (b"origin", b"http://127.0.0.1")


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def communicator(path: str, user=None, origin=ORIGIN) -> WebsocketCommunicator:
    from config.asgi import application

    headers = [origin] if origin else []
    if user is not None:
        headers.append((b"cookie", f"sessionid={session_cookie(user)}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


@pytest.fixture
def ws():
    """Open communicators, all disconnected at the end of the test."""
    opened = []

    def open_(path, user=None, origin=ORIGIN):
        c = communicator(path, user, origin)
        opened.append(c)
        return c

    yield open_


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each test runs in an event loop of its own; a channel layer made in an earlier loop
    (the Redis layer keeps loop-bound locks) is not carried over."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


LAYERS = {
    "memory": {"BACKEND": "channels.layers.InMemoryChannelLayer"},
    "redis": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": settings.REDIS_URL, "socket_timeout": None}],
            "prefix": f"{REDIS_KEY_PREFIX}:asgi",
        },
    },
}


@pytest.fixture(params=list(LAYERS))
def each_layer(request, settings):
    """The test runs on the embedded mode's in-memory layer and on production's Redis."""
    if request.param == "redis" and not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set")
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": LAYERS[request.param]}
    channel_layers.backends.clear()
    yield request.param
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def own_sending_budgets(monkeypatch):
    """Each test spends budgets of its own: people of an earlier run may have had the same ids
    in the shared store."""
    import uuid

    from messaging import limits

    monkeypatch.setattr(limits, "PREFIX", f"test:{uuid.uuid4().hex}:chat:budget")
