"""The one bulk writer: `rows_write` streams rows into a table with COPY on PostgreSQL
(executemany elsewhere), and `history_write` writes through it the history rows
django-simple-history's bulk helpers would write (history is most of what an import writes),
as `objects_write` writes instances the services' builders made and `objects_create` new ones,
keys and all. Each app's bulk services (devices, custody trail, incidents, locations) write
their rows and history through it, and seeding at scale its large tables."""

from collections.abc import Callable, Iterable, Sequence

from django.db import connection
from django.utils import timezone

BATCH = 1000

# Fields whose Python values the database driver takes as they are (executemany): every other
# field's values go through the field's own preparation (dates and times, JSON, decimals...).
PLAIN_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "IntegerField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "TextField",
    }
)


def use_copy() -> bool:
    return connection.vendor == "postgresql"


def history_write(
    model,
    instances: Iterable,
    history_type: str,
    *,
    progress: Callable[[int, int], None] | None = None,
    every: int = 5000,
) -> None:
    """Write one history row of `model` per instance: `history_type` "+" (created) or "~"
    (changed), dated by each instance's `_history_date` (now when it has none), by
    `_history_user`, for `_change_reason`; any object with the model's tracked attributes will
    do (a trail entry need not be a copy of the whole instance). `progress(done, total)` is told
    every `every` rows and at the end."""
    instances = list(instances)
    history = model.history.model
    tracked = [field.attname for field in history.tracked_fields]
    columns = [*tracked, "history_date", "history_change_reason", "history_type"]
    columns.append("history_user_id")
    now = timezone.now()

    def rows():
        for instance in instances:
            user = getattr(instance, "_history_user", None)
            yield (
                *(getattr(instance, attname) for attname in tracked),
                getattr(instance, "_history_date", now),
                getattr(instance, "_change_reason", "") or "",
                history_type,
                user.pk if user else None,
            )

    rows_write(history, columns, rows(), total=len(instances), progress=progress, every=every)


def objects_write(
    model,
    objects: Sequence,
    *,
    progress: Callable[[int, int], None] | None = None,
    every: int = 5000,
) -> int:
    """Stream instances made by the services' builders, not saved, into their table through
    `rows_write`: every concrete field as the instance holds it, the key too when the
    instances carry one (ids reserved beforehand), else the table gives it. No save(), no
    signal, no history (`history_write` writes that)."""
    if not objects:
        return 0
    keyed = objects[0].pk is not None
    columns = [f.attname for f in model._meta.concrete_fields if keyed or not f.primary_key]
    rows = ([getattr(instance, column) for column in columns] for instance in objects)
    return rows_write(model, columns, rows, total=len(objects), progress=progress, every=every)


def keys_reserve(model, count: int) -> list[int]:
    """`count` keys from the table's own sequence (PostgreSQL), for rows written with their
    keys given: the sequence moves past them, so rows inserted later never collide."""
    if count == 0:
        return []
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def objects_create(model, objects: Sequence, *, batch_size: int = BATCH) -> None:
    """Save new instances made by the services' builders, as `bulk_create` would, keys given
    back, through `objects_write` (COPY on PostgreSQL, executemany on SQLite). PostgreSQL's
    keys are reserved from the table's sequence; SQLite's follow the first row's, which the
    table gives: that insert takes the database's one write lock, held to the end of the
    transaction, so nobody else takes the keys after it (outside a transaction, and on other
    databases, `bulk_create`). The instances' related objects saved just before (a device
    created in the same import) lend them their keys, and each instance is then as a saved one
    (`_state`). No save(), no signal, no history (`history_write`)."""
    if not objects:
        return
    vendor = connection.vendor
    if vendor not in ("postgresql", "sqlite") or not connection.in_atomic_block:
        model.objects.bulk_create(objects, batch_size=batch_size)
        return
    for instance in objects:
        # What bulk_create does first: a related object saved since gives its key, and an
        # unsaved one refuses the write (ValueError) instead of losing the link.
        instance._prepare_related_fields_for_save(operation_name="objects_create")
    rest = objects
    if vendor == "postgresql":
        keys = keys_reserve(model, len(objects))
    else:
        objects_write(model, objects[:1])
        with connection.cursor() as cursor:
            cursor.execute("SELECT last_insert_rowid()")
            first = cursor.fetchone()[0]
        keys, rest = range(first, first + len(objects)), objects[1:]
    for instance, key in zip(objects, keys, strict=True):
        instance.pk = key
    objects_write(model, rest)
    for instance in objects:
        instance._state.adding = False
        instance._state.db = connection.alias


def _internal_type(field) -> str:
    """A field's type as the database stores it: a foreign key's is its target's."""
    while field.is_relation and field.many_to_one:
        field = field.target_field
    return field.get_internal_type()


def rows_write(
    model,
    columns: Sequence[str],
    rows: Iterable[Sequence],
    *,
    total: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    every: int = 5000,
) -> int:
    """Stream `rows` (tuples of values in the order of `columns`, the fields' attnames) into
    `model`'s table, as they are: no save(), no signal, no history. COPY on PostgreSQL,
    executemany elsewhere (slowly). A field left out gets its default, so a field added later
    needs no change here; the table's key fills itself unless given. JSON fields take Python
    values. `progress(done, total)` is told every `every` rows and at the end. Returns how
    many rows were written."""
    fields = {field.attname: field for field in model._meta.concrete_fields}
    unknown = set(columns) - set(fields)
    if unknown:
        raise ValueError(f"{model._meta.label} has no column {sorted(unknown)}")
    left_out = [f for f in fields.values() if f.attname not in columns and not f.primary_key]
    tail = tuple(f.get_db_prep_save(f.get_default(), connection) for f in left_out)
    names = [fields[column].column for column in columns] + [f.column for f in left_out]
    if use_copy():
        # psycopg writes Python values itself; only JSON needs its field's adapter.
        prepare = {
            n: fields[column]
            for n, column in enumerate(columns)
            if fields[column].get_internal_type() == "JSONField"
        }
    else:
        # The driver takes text, numbers and booleans as they are; the rest is prepared.
        prepare = {
            n: fields[column]
            for n, column in enumerate(columns)
            if _internal_type(fields[column]) not in PLAIN_TYPES
        }

    # Dates and times repeat (an import's legacy dates): each is prepared once.
    memo = {
        n: {}
        for n, field in prepare.items()
        if field.get_internal_type() in ("DateTimeField", "DateField", "TimeField")
    }

    def prepared(row: Sequence) -> tuple:
        if prepare:
            row = list(row)
            for n, field in prepare.items():
                value, known = row[n], memo.get(n)
                if known is None:
                    row[n] = field.get_db_prep_save(value, connection)
                elif value in known:
                    row[n] = known[value]
                else:
                    row[n] = known[value] = field.get_db_prep_save(value, connection)
        return (*row, *tail)

    quote = connection.ops.quote_name
    table, listed = quote(model._meta.db_table), ", ".join(quote(name) for name in names)
    done = 0
    if use_copy():
        connection.ensure_connection()
        statement = f"COPY {table} ({listed}) FROM STDIN"
        with connection.connection.cursor() as cursor, cursor.copy(statement) as copy_in:
            for row in rows:
                copy_in.write_row(prepared(row))
                done += 1
                if progress and done % every == 0:
                    progress(done, total or done)
    else:
        statement = f"INSERT INTO {table} ({listed}) VALUES ({', '.join(['%s'] * len(names))})"
        batch = []
        with connection.cursor() as cursor:
            for row in rows:
                batch.append(prepared(row))
                done += 1
                if len(batch) == BATCH:
                    cursor.executemany(statement, batch)
                    batch = []
                if progress and done % every == 0:
                    progress(done, total or done)
            if batch:
                cursor.executemany(statement, batch)
    if progress:
        progress(done, total or done)
    return done
