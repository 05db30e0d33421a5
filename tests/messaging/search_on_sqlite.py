"""The search on a real SQLite database, in a process of its own (the test suite runs on
PostgreSQL). Run as `python -m tests.messaging.search_on_sqlite` with DATABASE_URL naming a new
SQLite file: it migrates the file, stores the corpus through the chat's services, and prints as
JSON what each query finds and what the FTS5 table and its triggers did."""

import json
import os


def fts_rows(cursor, phrase: str) -> list[int]:
    """The message ids the FTS5 table itself holds for `phrase` (three characters or more)."""
    from messaging.search import SQLITE_TABLE

    cursor.execute(
        f"SELECT rowid FROM {SQLITE_TABLE} WHERE {SQLITE_TABLE} MATCH %s ORDER BY rowid",
        [f'"{phrase}"'],
    )
    return [row[0] for row in cursor.fetchall()]


def index_consistent(cursor) -> bool:
    """FTS5's own check of the index against the messages table."""
    from django.db import DatabaseError

    from messaging.search import SQLITE_TABLE

    try:
        cursor.execute(
            f"INSERT INTO {SQLITE_TABLE}({SQLITE_TABLE}, rank) VALUES ('integrity-check', 1)"
        )
    except DatabaseError:
        return False
    return True


def search_objects(cursor) -> list[str]:
    from messaging.search import SQLITE_TABLE

    cursor.execute(
        "SELECT name FROM sqlite_master WHERE name LIKE %s AND type IN ('table', 'trigger') "
        "ORDER BY name",
        [f"{SQLITE_TABLE}%"],
    )
    return [row[0] for row in cursor.fetchall()]


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from messaging.models import Message
    from messaging.search import message_search
    from messaging.services import message_send
    from tests.messaging.search_corpus import CASES, build

    assert connection.vendor == "sqlite", connection.vendor
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    report: dict = {}
    messages = build()
    keys = {message.pk: key for key, message in messages.items()}
    every = Message.objects.all()

    def found(query: str) -> list[str]:
        return sorted(
            keys.get(pk, pk) for pk in message_search(every, query).values_list("pk", flat=True)
        )

    report["cases"] = {query: found(query) for query, _expected in CASES}
    report["newest_first"] = [
        keys[pk] for pk in message_search(every, "焊").values_list("pk", flat=True)
    ]
    report["plans"] = {
        query: " | ".join(str(row) for row in message_search(every, query).explain().splitlines())
        for query in ("测试站", "射频测试", "焊")
    }
    with connection.cursor() as cursor:
        report["objects"] = search_objects(cursor)
        # The triggers: an edit replaced the old text, and a row that really goes leaves.
        report["fts_edited_old"] = fts_rows(cursor, "螺丝松")
        report["fts_edited_new"] = fts_rows(cursor, "已拧紧")
        report["edited_id"] = messages["edited"].pk
        gone = Message.objects.create(room=messages["solder"].room, text="临时消息 XYZ123")
        report["fts_inserted"] = fts_rows(cursor, "xyz123") == [gone.pk]
        Message.objects.filter(pk=gone.pk).delete()
        report["fts_after_delete"] = fts_rows(cursor, "xyz123")
        report["consistent"] = index_consistent(cursor)

        # Django alters a SQLite table by copying it into a new one, which drops its triggers;
        # the next migrate puts them back (and refills the index).
        with connection.schema_editor() as editor:
            editor._remake_table(Message)
        report["objects_after_rebuild"] = search_objects(cursor)
        call_command("migrate", verbosity=0)
        report["objects_after_migrate"] = search_objects(cursor)
        author = messages["solder"].author
        later, _new = message_send(room=messages["solder"].room, author=author, text="重新焊接")
        report["found_after_rebuild"] = list(
            message_search(every, "重新焊接").values_list("pk", flat=True)
        ) == [later.pk]
        report["consistent_after_rebuild"] = index_consistent(cursor)
        Message.objects.filter(pk=later.pk).delete()

        # The migration goes back (the table and triggers go) and forth (the index is refilled).
        call_command("migrate", "messaging", "0001", verbosity=0)
        report["objects_after_reverse"] = search_objects(cursor)
        call_command("migrate", verbosity=0)
        report["objects_after_forward"] = search_objects(cursor)
        report["cases_after_forward"] = {query: found(query) for query, _expected in CASES}
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
