"""Partial updates: only what changed is written (and so only that is in the trail)."""

from collections.abc import Mapping
from typing import Any


def changes_to(instance, wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of `wanted` whose value differs from `instance`'s, with their new values, in
    the order given."""
    return {name: value for name, value in wanted.items() if getattr(instance, name) != value}


def apply_changes(instance, changes: Mapping[str, Any]) -> list[str]:
    """Set `changes` on `instance` (not saved); the names set, for `save(update_fields=...)`."""
    for name, value in changes.items():
        setattr(instance, name, value)
    return list(changes)
