"""Partial updates write only what changed (config/kit/updates.py)."""

from types import SimpleNamespace

from config.kit.updates import apply_changes, changes_to


def test_only_the_values_that_differ_are_changes():
    thing = SimpleNamespace(name="Shelf A", kind="shelf", parent=None)

    assert changes_to(thing, {"name": "Shelf A", "kind": "bench", "parent": None}) == {
        "kind": "bench"
    }


def test_applying_sets_the_values_and_names_them_for_saving():
    thing = SimpleNamespace(name="Shelf A", kind="shelf")

    assert apply_changes(thing, {"kind": "bench"}) == ["kind"]
    assert (thing.name, thing.kind) == ("Shelf A", "bench")
