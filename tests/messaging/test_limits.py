"""One sending budget per person, whatever they send through (messaging.limits): the socket's
`send` and the HTTP send with files take from the same buckets; a message mentions at most
CHAT_MENTIONS_PER_MESSAGE people and a person at most CHAT_MENTIONS_PER_MINUTE a minute. Past a
limit nothing is stored and nobody is notified, and the person is told why in their language."""

import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from incidents.models import Employee, Notification
from messaging import limits
from messaging.models import Message
from tests.factories import StaffFactory
from tests.messaging.test_consumers import connected, next_message
from tests.messaging.test_services import build_chat


def send(person, chat, **data):
    client = Client()
    client.force_login(person)
    url = reverse("chat:send", kwargs={"kind": "incident", "subject_id": chat.incident.pk})
    return client.post(url, {"client_id": str(uuid.uuid4()), "text": "hi", **data})


def body(response) -> dict:
    return json.loads(response.content)


def stored(text: str) -> int:
    return Message.objects.filter(text__startswith=text).count()


def mentioning(people) -> str:
    return " ".join(f"@[{person.pk}]" for person in people)


@pytest.fixture
def chat(db):
    return build_chat()


@pytest.fixture
def few(settings):
    """Three messages at once, then hardly any."""
    settings.CHAT_BURST = 3
    settings.CHAT_RATE_PER_SECOND = 0.001


@pytest.mark.django_db
class HttpSendTests:
    def test_a_person_sending_too_fast_is_refused_with_429_and_nothing_is_stored(self, chat, few):
        answers = [send(chat.worker, chat, text=f"flood {n}") for n in range(5)]

        assert [answer.status_code for answer in answers] == [200, 200, 200, 429, 429]
        assert body(answers[3])["code"] == "rate_limited"
        assert "too fast" in body(answers[3])["message"]
        assert stored("flood") == 3
        # Each person has a budget of their own.
        assert send(chat.colleague, chat, text="mine").status_code == 200

    def test_the_refusal_is_in_the_persons_language(self, chat, few):
        Employee.objects.filter(pk=chat.worker.pk).update(language="zh-hans")
        for n in range(3):
            send(chat.worker, chat, text=f"flood {n}")

        answer = send(chat.worker, chat, text="one more")

        assert answer.status_code == 429
        assert body(answer)["message"] == "发送太快了，这条消息未发送。请稍候。"

    def test_a_message_mentioning_too_many_is_refused_and_nobody_is_notified(self, chat):
        crowd = [StaffFactory(department=chat.worker.department) for _ in range(11)]
        ten = send(chat.worker, chat, text="ten " + mentioning(crowd[:10]))
        before = Notification.objects.count()

        answer = send(chat.worker, chat, text="look " + mentioning(crowd))

        assert len(body(ten)["message"]["mentions"]) == 10
        assert answer.status_code == 429
        assert body(answer)["code"] == "too_many_mentions"
        assert "at most 10 people (this one mentions 11)" in body(answer)["message"]
        assert stored("look") == 0
        assert Notification.objects.count() == before

    def test_mentions_given_as_fields_count_with_those_in_the_text(self, chat):
        crowd = [StaffFactory(department=chat.worker.department) for _ in range(11)]

        answer = send(
            chat.worker,
            chat,
            text="look " + mentioning(crowd[:6]),
            mentions=[str(person.pk) for person in crowd[6:]],
        )

        assert body(answer)["code"] == "too_many_mentions"

    def test_a_person_mentions_at_most_thirty_people_a_minute(self, chat):
        crowd = [StaffFactory(department=chat.worker.department) for _ in range(10)]

        answers = [
            send(chat.worker, chat, text=f"round {n} " + mentioning(crowd)) for n in range(4)
        ]
        plain = send(chat.worker, chat, text="no mention at all")

        assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
        assert body(answers[3])["code"] == "too_many_mentions"
        assert "more than 30 people in the last minute" in body(answers[3])["message"]
        assert stored("round") == 3
        assert plain.status_code == 200  # the messages' budget is not spent by the refusal


class SharedBudgetTests:
    """Spent on one transport, refused on the other."""

    pytestmark = [
        pytest.mark.asyncio,
        pytest.mark.django_db(transaction=True, serialized_rollback=True),
        pytest.mark.usefixtures("each_layer", "few"),
    ]

    async def test_spent_on_the_socket_the_http_send_refuses(self):
        chat = await sync_to_async(build_chat)()
        socket = await connected(f"/ws/rooms/incident/{chat.incident.pk}/", chat.worker)
        for n in range(3):
            await socket.send_json_to(
                {"type": "send", "client_id": str(uuid.uuid4()), "text": f"socket {n}"}
            )
            assert (await next_message(socket))["type"] == "message"

        answer = await sync_to_async(send)(chat.worker, chat, text="over http")

        assert answer.status_code == 429
        assert await sync_to_async(stored)("over http") == 0
        await socket.disconnect()

    async def test_spent_over_http_the_socket_refuses(self):
        chat = await sync_to_async(build_chat)()
        socket = await connected(f"/ws/rooms/incident/{chat.incident.pk}/", chat.worker)
        for n in range(3):
            assert (
                await sync_to_async(send)(chat.worker, chat, text=f"http {n}")
            ).status_code == 200

        await socket.send_json_to(
            {"type": "send", "client_id": str(uuid.uuid4()), "text": "over the socket"}
        )

        frame = await _next_error(socket)
        assert frame["code"] == "rate_limited"
        assert await sync_to_async(stored)("over the socket") == 0
        await socket.disconnect()

    async def test_too_many_mentions_on_the_socket_is_refused_with_its_code(self):
        chat = await sync_to_async(build_chat)()
        crowd = await sync_to_async(
            lambda: [StaffFactory(department=chat.worker.department) for _ in range(11)]
        )()
        socket = await connected(f"/ws/rooms/incident/{chat.incident.pk}/", chat.worker)

        await socket.send_json_to(
            {
                "type": "send",
                "client_id": str(uuid.uuid4()),
                "text": "look",
                "mentions": [person.pk for person in crowd],
            }
        )

        assert (await _next_error(socket))["code"] == "too_many_mentions"
        assert await sync_to_async(stored)("look") == 0
        await socket.disconnect()


async def _next_error(socket) -> dict:
    while True:
        frame = await next_message(socket)
        if frame["type"] == "error":
            return frame


@pytest.fixture(params=["redis", "cache"])
def store(request, settings):
    """The buckets on Redis (production) and in the cache (the embedded mode)."""
    if request.param == "redis":
        if not settings.REDIS_URL:
            pytest.skip("REDIS_URL is not set")
    else:
        settings.REDIS_URL = ""
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
        caches["default"].clear()
    return request.param


class BucketTests:
    def test_a_burst_then_the_rate(self, store, settings, monkeypatch):
        settings.CHAT_BURST, settings.CHAT_RATE_PER_SECOND = 2, 10
        now = [1000.0]
        monkeypatch.setattr(limits.time, "time", lambda: now[0])

        taken = [limits.take(person_id=7) for _ in range(3)]
        now[0] += 0.1  # one message's worth refilled
        again = [limits.take(person_id=7) for _ in range(2)]

        assert taken == [None, None, limits.RATE_LIMITED]
        assert again == [None, limits.RATE_LIMITED]

    def test_a_refused_message_takes_from_neither_bucket(self, store, settings, monkeypatch):
        settings.CHAT_BURST, settings.CHAT_RATE_PER_SECOND = 2, 0.001
        settings.CHAT_MENTIONS_PER_MINUTE = 5
        monkeypatch.setattr(limits.time, "time", lambda: 1000.0)

        assert limits.take(person_id=8, mentions=6) == limits.TOO_MANY_MENTIONS
        assert limits.take(person_id=8, mentions=5) is None
        assert limits.take(person_id=8, mentions=1) == limits.TOO_MANY_MENTIONS
        assert limits.take(person_id=8) is None  # the message bucket still had one
        assert limits.take(person_id=8) == limits.RATE_LIMITED

    def test_an_unreachable_store_lets_sending_go_on(self, store, settings, monkeypatch):
        def broken(*args, **kwargs):
            raise ConnectionError("down")

        monkeypatch.setattr(limits, "_take_redis", broken)
        monkeypatch.setattr(limits, "_take_cache", broken)

        assert limits.take(person_id=9) is None
