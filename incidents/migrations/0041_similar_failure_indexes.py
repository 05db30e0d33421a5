"""Indexes for "Seen before" (incidents.selectors.similar): B-trees reading the most recent
incidents of a failure and of a fail item in order; on PostgreSQL, trigram GiST indexes from
which the incidents whose description, and the analyses whose findings of a cause (verdict
resolved or not resolved), read closest to an incident's words are read nearest first (`<->`
with ORDER BY … LIMIT), so the panel reads a handful of rows whatever the number of incidents.
Their signatures are larger than pg_trgm's default (12 bytes): with findings written in the
same few words thousands of times, a small signature is full on every inner page of the tree
and the nearest few were found only after reading most of it. SQLite (the embedded demo) has
no trigram index: it finds similar incidents by their failure only."""

from django.db import migrations, models

INDEXES = {
    "incident_description_near": ("incidents_incident", "description", ""),
    "result_findings_near": (
        "incidents_analysisresult",
        "findings",
        "WHERE verdict IN ('resolved', 'not_resolved')",
    ),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column, where) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
            f"USING gist ({column} gist_trgm_ops(siglen=256)) {where}"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("incidents", "0040_stage_deadlines")]

    operations = [
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                fields=["fail_item", "fail_station", "opened_at"], name="incident_same_failure"
            ),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(fields=["fail_item", "opened_at"], name="incident_same_item"),
        ),
        migrations.RunPython(create, drop, elidable=False),
    ]
