"""The one bulk writer: `rows_write` streams rows into a table with COPY on PostgreSQL
(executemany elsewhere), and `history_write` writes through it the history rows
django-simple-history's bulk helpers would write (history is most of what an import writes;
`bulk_history_create` off PostgreSQL), as `objects_write` writes instances the services'
builders made. Each app's bulk services (devices, custody trail, incidents, locations) write
their history through it, and seeding at scale its large tables."""

from collections.abc import Callable, Iterable, Sequence

from django.db import connection
from django.utils import timezone

BATCH = 1000


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
    `_history_user`, for `_change_reason`. `progress(done, total)` is told every `every` rows
    and at the end."""
    instances = list(instances)
    if not use_copy():
        model.history.bulk_history_create(instances, update=history_type == "~", batch_size=BATCH)
        if progress:
            progress(len(instances), len(instances))
        return
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
        prepare = {n: fields[column] for n, column in enumerate(columns)}

    def prepared(row: Sequence) -> tuple:
        if prepare:
            row = [
                prepare[n].get_db_prep_save(value, connection) if n in prepare else value
                for n, value in enumerate(row)
            ]
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
