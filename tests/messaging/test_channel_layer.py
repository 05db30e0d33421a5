"""The channel layer configured by the settings, against the real Redis when REDIS_URL is set."""

import asyncio
import uuid

import pytest
from channels.layers import get_channel_layer
from django.conf import settings

pytestmark = pytest.mark.asyncio

needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="REDIS_URL is not set")


async def test_a_group_message_reaches_every_member():
    layer = get_channel_layer()
    group = f"test-{uuid.uuid4().hex}"
    first, second = await layer.new_channel(), await layer.new_channel()
    await layer.group_add(group, first)
    await layer.group_add(group, second)

    await layer.group_send(group, {"type": "chat.message", "text": "你好"})

    for channel in (first, second):
        message = await asyncio.wait_for(layer.receive(channel), timeout=5)
        assert message == {"type": "chat.message", "text": "你好"}


@needs_redis
async def test_redis_layer_keeps_waiting_past_the_redis_client_read_timeout():
    """redis 8 drops reads idle for 5 s unless socket_timeout is None: a quiet room must live."""
    layer = get_channel_layer()
    assert layer.__class__.__name__ == "RedisChannelLayer"
    channel = await layer.new_channel()
    waiting = asyncio.create_task(layer.receive(channel))

    await asyncio.sleep(6)
    assert not waiting.done(), waiting.exception() if waiting.done() else None
    await layer.send(channel, {"type": "chat.message", "text": "still here"})

    message = await asyncio.wait_for(waiting, timeout=5)
    assert message["text"] == "still here"
