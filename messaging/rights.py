"""Open sockets keep up with their person's rights (DESIGN.md, Chat: "Rights are checked at
connect and on every frame").

A socket decides at connect whether its person may have it, and keeps that answer only while
nothing that could change it has happened. What could is told by `incidents.signals.
access_changed` once it has committed: the person's account, department, roles or role
capabilities, or a project's restriction. Its receiver here does two things:
- it changes the person's stamp (or the stamp of every restriction) in the cache shared by every
  process, so that each socket, before it takes a frame from its client or hands one over,
  compares one stamp (one cache read) and asks the database again only when it changed;
- it tells the affected sockets at once through the channel layer (`messaging.broadcast`): the
  person's sockets, or for a project the open rooms of its incidents and every open device page,
  which ask again and close with a reason frame when the answer is no, without waiting for their
  person to send anything; open dashboards count again what their readers may see.
Every socket also asks again on its beat (a room's presence beat), for changes made where no
signal is sent (bulk writes).
"""

import asyncio
import logging
import uuid
from weakref import WeakKeyDictionary

from asgiref.sync import sync_to_async
from django.core.cache import cache

from messaging import broadcast
from messaging.selectors import open_rooms_of_projects

logger = logging.getLogger(__name__)

# A stamp kept this long; one that expired reads as changed, which only costs a check.
STAMP_SECONDS = 24 * 60 * 60
PROJECTS = "chat:rights:projects"


def _person_key(person_id: int) -> str:
    return f"chat:rights:person:{person_id}"


class _Unknown:
    """A stamp that could not be read: equal to nothing, so the rights are checked again."""

    def __eq__(self, other) -> bool:
        return False

    __hash__ = None


def stamp(person_id: int):
    """What has changed, as far as the rights of `person_id` go: compare it with the one read
    when they were last checked. Reading it fails safe (cache down: never equal)."""
    return stamps([person_id])[person_id]


def stamps(person_ids) -> dict:
    """The stamps of several people, in one read of the cache."""
    keys = {person_id: _person_key(person_id) for person_id in person_ids}
    try:
        values = cache.get_many([*keys.values(), PROJECTS])
    except Exception:
        logger.warning("Could not read the rights stamps; the rights are checked again")
        return {person_id: _Unknown() for person_id in keys}
    return {person_id: (values.get(key), values.get(PROJECTS)) for person_id, key in keys.items()}


class _StampReader:
    """Stamps asked for by the sockets of one process at about the same time are read
    together: a message to a room of 200 open pages costs a few reads of the cache, not 200.
    Each read starts after the asks it answers were made (one that comes while a read is
    under way waits for the next), so no socket is answered with a stamp older than its ask."""

    def __init__(self):
        self.waiting: dict[int, list[asyncio.Future]] = {}
        self.reading = False
        self.task: asyncio.Future | None = None

    async def read(self, person_id: int):
        future = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(person_id, []).append(future)
        if not self.reading:
            self.reading = True
            self.task = asyncio.ensure_future(self.drain())
        return await future

    async def drain(self) -> None:
        try:
            while self.waiting:
                await asyncio.sleep(0)  # the other sockets handed the same frame ask too
                waiting, self.waiting = self.waiting, {}
                try:
                    # Not in the database thread: a cache read need not wait behind queries.
                    values = await sync_to_async(stamps, thread_sensitive=False)(list(waiting))
                except Exception:
                    values = {}
                for person_id, futures in waiting.items():
                    for future in futures:
                        if not future.done():
                            future.set_result(values.get(person_id, _Unknown()))
        finally:
            self.reading = False


_readers: WeakKeyDictionary = WeakKeyDictionary()


async def astamp(person_id: int):
    """`stamp`, from a socket: asks of the same moment read together."""
    loop = asyncio.get_running_loop()
    reader = _readers.get(loop)
    if reader is None:
        reader = _readers[loop] = _StampReader()
    return await reader.read(person_id)


def stamps_changed(*, people=(), projects=()) -> None:
    """Rights of these people, or restrictions of these projects, changed."""
    new = uuid.uuid4().hex
    values = {_person_key(person_id): new for person_id in people}
    if projects:
        values[PROJECTS] = new
    if values:
        cache.set_many(values, STAMP_SECONDS)


def access_changed_committed(sender, *, people=(), projects=(), **kwargs) -> None:
    """Receiver of `incidents.signals.access_changed`: stamps changed, then the sockets that may
    have lost their right are told to check it now."""
    try:
        stamps_changed(people=people, projects=projects)
    except Exception:  # the beat and the push still catch it
        logger.exception("Could not change the rights stamps")
    if people:
        broadcast.rights_check_people(people)
    if projects:
        broadcast.rights_check_rooms(open_rooms_of_projects(projects))
        broadcast.rights_check_device_pages()
        # The dashboards' figures may count incidents their readers no longer see.
        broadcast.dashboard_event()
