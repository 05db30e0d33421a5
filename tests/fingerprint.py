"""A fingerprint of the whole database, to prove that a request changed nothing.

One digest per table over all its rows in a stable order: two fingerprints are equal exactly when
no row was added, removed or changed anywhere. Sessions are left out: any request may write its
own browser session (a login, the language, the scan station's scanned codes), and a session is
the visitor's state, not the product's data. The admin's log of changes is kept in: a refused
request must not log a change either.
"""

import hashlib

from django.db import connection

UNWATCHED_TABLES = frozenset({"django_session"})


def watched_tables() -> list[str]:
    """Every table of the database (the project's apps, auth, history, the task queue…) but the
    sessions."""
    return sorted(set(connection.introspection.table_names()) - UNWATCHED_TABLES)


def fingerprint(tables: list[str] | None = None) -> dict[str, str]:
    """{table: digest of its rows}."""
    tables = tables or watched_tables()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                " UNION ALL ".join(
                    f"SELECT %s, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
                    f" FROM {quote(table)} t"
                    for table in tables
                ),
                tables,
            )
            return dict(cursor.fetchall())
        digests = {}
        for table in tables:
            cursor.execute(f"SELECT * FROM {quote(table)}")
            rows = sorted(repr(row) for row in cursor.fetchall())
            digests[table] = hashlib.md5("\n".join(rows).encode()).hexdigest()
        return digests


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(
        table for table in before.keys() | after.keys() if before.get(table) != after.get(table)
    )
