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


def write_counts(tables: list[str]) -> tuple:
    """The rows this connection's transaction has inserted, updated and deleted so far in each
    of `tables` (PostgreSQL counts them as they are written, kept or rolled back); on SQLite,
    the rows the connection has changed in all. Counts that did not move mean that nothing was
    written in between."""
    if connection.vendor != "postgresql":
        connection.ensure_connection()
        return (connection.connection.total_changes,)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_all_tables"
            " WHERE schemaname = current_schema() AND relname = ANY(%s) ORDER BY relname",
            [list(tables)],
        )
        return tuple(cursor.fetchall())


class Watch:
    """`fingerprint(tables)` before and after a request, each taken only when something may
    have changed: digesting every table costs more than most requests, and most requests (a
    page shown, a request refused) write nothing. A fingerprint is taken again when rows were
    written since the last one, or when the transaction is no longer where it was then (a test
    of its own, rolled back afterwards, or a savepoint rolled back)."""

    def __init__(self, tables: list[str]):
        self.tables = tables
        self._kept: tuple = (None, None)

    def _where(self) -> tuple:
        return tuple(connection.savepoint_ids), write_counts(self.tables)

    def before(self) -> tuple:
        """What `changed_since` compares with: where the transaction is, and its fingerprint."""
        where = self._where()
        if self._kept[0] != where:
            self._kept = (where, fingerprint(self.tables))
        return self._kept

    def changed_since(self, before: tuple) -> list[str]:
        """The tables whose rows differ from `before`'s (`changed_tables`); none, without
        digesting anything, when no row was written since."""
        (_, counts), digests = before
        where = self._where()
        if where[1] == counts:
            return []
        self._kept = (where, fingerprint(self.tables))
        return changed_tables(digests, self._kept[1])
