"""Full-text search over messages: a GIN index on the search vector (PostgreSQL), an FTS5 table
with the trigram tokenizer kept up to date by triggers (SQLite)."""

from django.db import migrations

from messaging.search import (
    POSTGRESQL_CREATE_INDEX,
    POSTGRESQL_INDEX,
    search_tokens,
    sqlite_index_create,
    sqlite_index_drop,
)


def create_search_index(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            sqlite_index_create(cursor)
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Messages stored before they were indexed on save.
            cursor.execute(
                "SELECT id, text FROM messaging_message WHERE search_vector IS NULL AND text <> ''"
            )
            rows = [(search_tokens(text), pk) for pk, text in cursor.fetchall()]
            cursor.executemany(
                "UPDATE messaging_message SET search_vector = array_to_tsvector(%s::text[]) "
                "WHERE id = %s",
                rows,
            )
            cursor.execute(POSTGRESQL_CREATE_INDEX)


def drop_search_index(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            sqlite_index_drop(cursor)
        elif connection.vendor == "postgresql":
            cursor.execute(f"DROP INDEX IF EXISTS {POSTGRESQL_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_chat"),
    ]

    operations = [
        migrations.RunPython(create_search_index, drop_search_index, elidable=False),
    ]
