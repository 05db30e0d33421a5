"""Fewer statistics on the texts "Seen before" compares (incidents.selectors.similar), on
PostgreSQL: the planner estimates how many rows a trigram match (`%`) keeps by trying it on
every common value and histogram entry of the column, 200 of them by default, which cost 2 ms
of planning per panel at 100,000 incidents for a plan that is the same whatever the estimate
(the trigram index, nearest first). Ten of each cost 0.25 ms. They take effect at the table's
next ANALYZE (autovacuum's, or one run by hand)."""

from django.db import migrations

COLUMNS = (
    ("incidents_incident", "description"),
    ("incidents_analysisresult", "findings"),
)


def _set(schema_editor, target: int) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column in COLUMNS:
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STATISTICS {target}")


def fewer(apps, schema_editor):
    _set(schema_editor, 10)


def default(apps, schema_editor):
    _set(schema_editor, -1)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0041_similar_failure_indexes")]

    operations = [migrations.RunPython(fewer, default, elidable=False)]
