"""The chat socket takes any frame a hostile client sends — deeply nested JSON, lone surrogates,
NUL, ids past 2^63, wrong types, oversized text — with an error frame that says what was wrong,
and stays open: the next good message still goes through."""

import json
import uuid

import pytest

from tests.messaging.test_consumers import connected, next_message, people, room_path  # noqa: F401

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

BIG = 2**64
DEEP = "[" * 30_000 + "]" * 30_000


def send(**fields) -> str:
    return json.dumps({"type": "send", "client_id": str(uuid.uuid4()), "text": "x", **fields})


RAW_FRAMES = {
    "nested json": DEEP,
    "nested text value": '{"type": "send", "client_id": "a", "text": ' + DEEP + "}",
    "lone surrogate in text": send(text="\ud800"),
    "lone surrogate in client id": send(client_id="\udfff"),
    "nul in text": send(text="before\x00after"),
    "nul in client id": send(client_id="a\x00b"),
    "reply to past 2^63": send(reply_to=BIG),
    "reply to negative": send(reply_to=-1),
    "mention past 2^63": send(mentions=[BIG]),
    "mention far past 2^63": send(mentions=[10**40]),
    "mention of a string": send(mentions=["1"]),
    "mentions as a dict": send(mentions={"a": 1}),
    "text as a list": send(text=["x"]),
    "text of ten thousand words": send(text="word " * 10_000),
    "resume past 2^63": json.dumps({"type": "resume", "after": BIG}),
    "resume with a string": json.dumps({"type": "resume", "after": "abc"}),
    "resume with a float": json.dumps({"type": "resume", "after": 1.5}),
    "type of a number": json.dumps({"type": 5}),
    "unknown type": json.dumps({"type": "drop_tables"}),
    "surrogate type": json.dumps({"type": "\ud800"}),
    "a bare number": "12",
    "null": "null",
    "not json": "{not json",
    "blank": " ",
}


@pytest.mark.parametrize("name", RAW_FRAMES)
async def test_a_hostile_frame_is_refused_and_the_socket_stays_open(people, name):  # noqa: F811
    alice = await connected(room_path(people["incident"]), people["alice"])

    await alice.send_to(text_data=RAW_FRAMES[name])
    good = str(uuid.uuid4())
    await alice.send_json_to({"type": "send", "client_id": good, "text": "still here"})
    frames = [await next_message(alice)]
    while frames[-1].get("client_id") != good:
        frames.append(await next_message(alice))

    errors = [frame for frame in frames if frame["type"] == "error"]
    assert len(errors) == 1, frames
    assert errors[0]["code"] and errors[0]["message"]
    assert frames[-1]["type"] == "message" and frames[-1]["text"] == "still here"
    await alice.disconnect()
