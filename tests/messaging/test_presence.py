"""Who is online in a room when an app process dies: a presence names the process holding its
connection, and counts only while that process's heartbeat lasts; each beat of an app process
clears the presences of the dead ones and tells their rooms at once (messaging/presence.py)."""

import threading
import time

import pytest
from channels.layers import get_channel_layer
from django.test import override_settings

from config.kit import processes
from incidents.models import Department
from messaging import broadcast, presence, selectors, services
from messaging.models import Presence
from tests.factories import IncidentFactory, StaffFactory
from tests.messaging.test_events import Listener

# Process ids no real process has on this machine (Linux caps them at 2**22).
DOOMED_PID = 4_999_101
SURVIVOR_PID = 4_999_102


@pytest.fixture
def store(settings):
    """A process store for the test alone (the test process beats as an app once config.asgi
    is imported), empty before and after it; a heartbeat lapses in 1 s."""
    settings.PROCESS_TTL_SECONDS = 1
    settings.REDIS_KEY_PREFIX = f"{settings.REDIS_KEY_PREFIX}-presence-test"
    if not settings.REDIS_URL:
        yield
        return
    client = processes._redis()
    client.delete(*processes.store_keys())
    yield
    client.delete(*processes.store_keys())
    client.close()


@pytest.fixture
def room():
    department = Department.objects.get(code="FAE")
    room = services.room_for(incident=IncidentFactory())
    people = {
        name: StaffFactory(department=department, display_name=name)
        for name in ("Alice", "Bob", "Carol")
    }
    for person in people.values():
        services.room_join(room=room, person=person)
    room.people = people
    return room


def online(room) -> set[str]:
    return {member["name"] for member in selectors.room_members(room) if member["online"]}


def enter(room, name: str, process: str) -> None:
    services.presence_enter(
        room=room, person=room.people[name], channel_name=f"channel-{name}", process=process
    )


@pytest.mark.django_db
class OnlineTests:
    def test_a_dead_process_s_people_are_offline_as_soon_as_its_heartbeat_lapses(self, store, room):
        doomed = processes.announce("app", host="h", pid=DOOMED_PID)
        enter(room, "Alice", doomed)
        enter(room, "Bob", "")  # a process without a heartbeat: judged by when it was seen

        before = online(room)
        time.sleep(1.2)  # the doomed process announces itself no more
        after = online(room)

        assert before == {"Alice", "Bob"}
        # Seen a second ago, far within PRESENCE_TIMEOUT: gone all the same.
        assert after == {"Bob"}
        assert selectors.PRESENCE_TIMEOUT > 60

    def test_people_of_a_process_that_keeps_beating_stay_online(self, store, room):
        key = processes.announce("app", host="h", pid=SURVIVOR_PID)
        enter(room, "Alice", key)
        for _ in range(3):
            time.sleep(0.5)
            processes.announce("app", host="h", pid=SURVIVOR_PID)
            assert online(room) == {"Alice"}

    def test_a_presence_long_silent_is_offline_whatever_its_process(self, store, room):
        key = processes.announce("app", host="h", pid=SURVIVOR_PID)
        enter(room, "Alice", key)
        enter(room, "Bob", "")
        Presence.objects.update(seen_at=Presence.objects.first().seen_at.replace(year=2000))

        assert online(room) == set()

    def test_when_redis_does_not_answer_presence_is_judged_by_when_it_was_seen(
        self, store, room, settings
    ):
        enter(room, "Alice", processes.process_key("app", "h", DOOMED_PID))
        settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there

        assert online(room) == {"Alice"}
        assert presence.clear_dead_presences() == []
        assert Presence.objects.count() == 1

    def test_embedded_without_redis_the_process_files_decide(self, store, room, tmp_path):
        with override_settings(REDIS_URL="", DATA_DIR=tmp_path):
            doomed = processes.announce("app", host="h", pid=DOOMED_PID)
            enter(room, "Alice", doomed)
            before = online(room)
            time.sleep(1.2)
            after = online(room)
            processes.announce("app", host="h", pid=SURVIVOR_PID)
            cleared = presence.clear_dead_presences()

        assert before == {"Alice"} and after == set()
        assert cleared == [room.pk] and not Presence.objects.exists()


@pytest.mark.skipif(
    "channels_redis" not in str(get_channel_layer().__class__),
    reason="a listener in another event loop needs the Redis channel layer",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class ClearingTests:
    @pytest.fixture
    def listen(self):
        opened = []

        def open_(group):
            opened.append(Listener(group))
            return opened[-1]

        yield open_
        for listener in opened:
            listener.close()

    def test_a_beat_clears_the_dead_process_s_presences_and_tells_its_rooms(
        self, store, room, listen
    ):
        other_room = services.room_for(incident=IncidentFactory())
        doomed = processes.announce("app", host="h", pid=DOOMED_PID)
        survivor = processes.announce("app", host="h", pid=SURVIVOR_PID)
        enter(room, "Alice", doomed)
        enter(room, "Bob", survivor)
        enter(room, "Carol", "")
        services.presence_enter(
            room=other_room, person=room.people["Bob"], channel_name="b2", process=survivor
        )
        page = listen(broadcast.room_group(room.pk))
        other_page = listen(broadcast.room_group(other_room.pk))
        time.sleep(1.2)
        processes.announce("app", host="h", pid=SURVIVOR_PID)

        # In the survivor's heartbeat thread, as after each of its beats.
        beat = threading.Thread(
            target=presence.process_beat_received,
            args=(None,),
            kwargs={"kind": "app", "key": survivor},
        )
        beat.start()
        beat.join(timeout=10)

        people = set(Presence.objects.values_list("person__display_name", flat=True))
        assert people == {"Bob", "Carol"}
        frames = [frame for frame in page.heard() if frame["type"] == broadcast.PRESENCE]
        assert frames, "the room was not told"
        assert {m["name"] for m in frames[-1]["members"] if m["online"]} == {"Bob", "Carol"}
        assert other_page.heard() == []  # nobody left there: nothing to tell


@pytest.mark.django_db
class BeatTests:
    def test_a_worker_s_beat_clears_nothing(self, store, room):
        enter(room, "Alice", processes.process_key("app", "h", DOOMED_PID))

        presence.process_beat_received(None, kind="worker", key="worker:h:1")

        assert Presence.objects.count() == 1

    def test_a_connection_s_beat_enters_its_presence_again_if_it_was_cleared(
        self, store, room, django_capture_on_commit_callbacks
    ):
        key = processes.announce("app", host="h", pid=SURVIVOR_PID)
        enter(room, "Alice", key)
        Presence.objects.all().delete()  # taken for dead while it could not announce itself

        with django_capture_on_commit_callbacks(execute=True) as told:
            services.presence_beat(
                room=room, person=room.people["Alice"], channel_name="channel-Alice", process=key
            )

        assert online(room) == {"Alice"} and len(told) == 1

    def test_a_beat_of_a_present_connection_tells_nobody(
        self, store, room, django_capture_on_commit_callbacks
    ):
        enter(room, "Alice", "")

        with django_capture_on_commit_callbacks(execute=True) as told:
            services.presence_beat(
                room=room, person=room.people["Alice"], channel_name="channel-Alice"
            )

        assert told == [] and Presence.objects.count() == 1
