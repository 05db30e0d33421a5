"""When each stage visit ended (IncidentEvent.left_at), the one fact the dashboard's time in
stages reads, written by every writer of the timeline.

A visit is known only when both its ends are: the legacy workbook says which stage an incident
is in, not when it got there, so a visit that an import began (the opening of an incident
imported past its first stage, dated the day it was registered; a stage a newer workbook moved
it to, dated the import) or ended (that move) has no end written, and no time in stage counts it.
"""

from django.db import connection

from incidents.choices import EventNote, Stage, WorkflowAction
from incidents.models import IncidentEvent

# SQL true for a timeline entry (of the entries' table, unqualified) that took the incident
# into its stage at a time nobody knows: an import's, with IMPORTED_PARAMS.
IMPORTED = "(action = %s OR (action = %s AND note = %s AND to_stage <> %s))"
IMPORTED_PARAMS = [
    WorkflowAction.IMPORT,
    WorkflowAction.OPEN,
    EventNote.LEGACY_IMPORT,
    Stage.REPORTED,
]


def visit_ends_write(incident_ids: list[int] | None = None) -> None:
    """Write when each stage visit of the incidents ended (IncidentEvent.left_at; every incident
    when None): on each entry that took the incident into a stage, the time of its next such
    entry; None on the last, and on a visit an import began or ended (its times unknown). One
    statement, whatever the number of entries."""
    table = connection.ops.quote_name(IncidentEvent._meta.db_table)
    narrow, params = "", [*IMPORTED_PARAMS, *IMPORTED_PARAMS, WorkflowAction.OPEN]
    if incident_ids is not None:
        if not incident_ids:
            return
        if connection.vendor == "postgresql":
            narrow, params = "AND incident_id = ANY(%s)", [*params, list(incident_ids)]
        else:
            narrow = f"AND incident_id IN ({', '.join(['%s'] * len(incident_ids))})"
            params += list(incident_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} SET left_at = CASE WHEN visits.timed THEN visits.next_at END FROM (
                SELECT id, LEAD(created_at) OVER visit AS next_at,
                       NOT {IMPORTED} AND NOT COALESCE(LEAD({IMPORTED}) OVER visit, FALSE)
                       AS timed
                FROM {table}
                WHERE (from_stage <> to_stage OR action = %s) {narrow}
                WINDOW visit AS (PARTITION BY incident_id ORDER BY created_at, id)
            ) AS visits
            WHERE {table}.id = visits.id
            """,
            params,
        )
