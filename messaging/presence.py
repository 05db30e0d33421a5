"""Who is online in the rooms when an app process dies. Each app process's heartbeat
(`config.kit.processes.process_beat`, connected in MessagingConfig.ready()) clears the presences
held by processes whose own heartbeat lapsed, and the rooms concerned are told at once: people
connected through a killed process show offline within PROCESS_TTL_SECONDS and a beat, not
after PRESENCE_TIMEOUT."""

import logging

from django.db import connections

from config.kit import processes
from messaging import services

logger = logging.getLogger(__name__)


def clear_dead_presences() -> list[int]:
    """The presences of the processes no longer alive removed, their rooms told; those rooms.
    Nothing is removed when which processes are alive cannot be told."""
    alive = processes.alive_keys()
    if alive is None:
        return []
    return services.presence_clear_dead(alive=alive)


def process_beat_received(sender, *, kind: str, key: str, **kwargs) -> None:
    """After each heartbeat of an app process (in its heartbeat thread)."""
    if kind != "app":
        return
    try:
        clear_dead_presences()
    finally:
        # The heartbeat thread lives as long as the process: no connection kept open for it.
        connections.close_all()
