"""The one writer of history rows in bulk: the rows django-simple-history's bulk helpers would
write, streamed with COPY on PostgreSQL (history is most of what an import writes), through
`bulk_history_create` elsewhere. Each app's bulk services (devices, custody trail, incidents,
locations) write their history through it."""

from collections.abc import Callable, Iterable

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
    quote = connection.ops.quote_name
    statement = (
        f"COPY {quote(history._meta.db_table)} "
        f"({', '.join(quote(column) for column in columns)}) FROM STDIN"
    )
    now = timezone.now()
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(statement) as copy_in:
        for done, instance in enumerate(instances, start=1):
            user = getattr(instance, "_history_user", None)
            copy_in.write_row(
                [
                    *(getattr(instance, attname) for attname in tracked),
                    getattr(instance, "_history_date", now),
                    getattr(instance, "_change_reason", "") or "",
                    history_type,
                    user.pk if user else None,
                ]
            )
            if progress and done % every == 0:
                progress(done, len(instances))
    if progress:
        progress(len(instances), len(instances))
