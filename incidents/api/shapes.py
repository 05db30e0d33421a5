"""Rows as the API answers them: people by badge number and name, places with the path down to
them, an incident's failure. Places' paths are read for a whole page at once, a level of the tree
per query, so a page costs the same whatever it holds."""

from collections.abc import Iterable

from incidents.models import Incident
from locations.models import Location

# Deeper than any factory's tree: a loop in the parents (which a constraint does not forbid
# beyond one level) ends here.
MAX_DEPTH = 20


def person(employee) -> dict | None:
    if employee is None:
        return None
    return {"employee_number": employee.employee_number, "name": employee.get_full_name()}


def paths(locations: Iterable[Location | None]) -> dict[int, list[str]]:
    """The codes from the building down to each place, by the place's id."""
    known = {place.pk: (place.code, place.parent_id) for place in locations if place is not None}
    wanted = {parent for _code, parent in known.values() if parent and parent not in known}
    for _depth in range(MAX_DEPTH):
        if not wanted:
            break
        found = Location.objects.filter(pk__in=wanted).values_list("pk", "code", "parent_id")
        for pk, code, parent in found:
            known[pk] = (code, parent)
        wanted = {parent for _code, parent in known.values() if parent and parent not in known}
    result = {}
    for pk in known:
        chain, node, seen = [], pk, set()
        while node in known and node not in seen:
            seen.add(node)
            code, parent = known[node]
            chain.append(code)
            node = parent
        result[pk] = list(reversed(chain))
    return result


def place(location: Location | None, known: dict[int, list[str]]) -> dict | None:
    if location is None:
        return None
    return {
        "code": location.code,
        "name": location.name,
        "path": known.get(location.pk, [location.code]),
    }


def failure(incident: Incident) -> dict:
    return {
        "station": incident.fail_station,
        "item": incident.fail_item,
        "log_urls": [incident.test_log_url] if incident.test_log_url else [],
        "failed_at": incident.failed_at,
    }


def incident(row: Incident) -> dict:
    """An incident as lists show it; `row` comes with its device, assignee and group."""
    return {
        "id": row.pk,
        "stage": row.stage,
        "step": row.step,
        "serial_number": row.device.serial_number,
        "project": row.device.project,
        "failure": failure(row),
        "problem_group": row.problem_group.number if row.problem_group_id else None,
        "assignee": person(row.assignee),
        "opened_at": row.opened_at,
        "closed_at": row.closed_at,
    }
