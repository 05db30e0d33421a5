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
  person's sockets, or the open rooms of the project's incidents, which ask again and close with
  a reason frame when the answer is no, without waiting for their person to send anything.
Each room socket also asks again on its presence beat, for changes made where no signal is sent
(bulk writes).
"""

import logging
import uuid

from django.core.cache import cache

from messaging import broadcast

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
    try:
        values = cache.get_many([_person_key(person_id), PROJECTS])
    except Exception:
        logger.warning("Could not read the rights stamp; the rights are checked again")
        return _Unknown()
    return (values.get(_person_key(person_id)), values.get(PROJECTS))


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
        from messaging.selectors import open_rooms_of_projects

        broadcast.rights_check_rooms(open_rooms_of_projects(projects))
