"""Counts shown as badges on every page (the sidebar's queues, the header's bell): counted no
further than a cap, so that a page costs the same however long the queues grow; past the cap a
badge reads "99+", as a phone's does. The lists themselves count their rows in full."""

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet

# A badge counts this many rows at most; from this many on it reads "99+".
BADGE_CAP = 100


def counted_up_to(rows: QuerySet, cap: int | None = None) -> int:
    """How many `rows` there are, counting no further than `cap` (a badge's)."""
    return rows.order_by()[: cap or BADGE_CAP].count()


def counts_up_to(querysets: dict[str, QuerySet], cap: int | None = None) -> dict[str, int]:
    """Each queryset's rows counted no further than `cap` (a badge's), all in one query (the
    querysets are of one database)."""
    cap = cap or BADGE_CAP
    counts, parts, params, using = {}, [], [], None
    for name, rows in querysets.items():
        try:
            sql, values = rows.order_by().values("pk")[:cap].query.sql_with_params()
        except EmptyResultSet:
            counts[name] = 0
            continue
        using = rows.db
        parts.append((name, f"(SELECT COUNT(*) FROM ({sql}) AS counted_{len(parts)})"))
        params.extend(values)
    if parts:
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(part for _, part in parts), params)
            row = cursor.fetchone()
        counts.update({name: count for (name, _), count in zip(parts, row, strict=True)})
    return {name: counts[name] for name in querysets}


def past_cap(count: int) -> bool:
    """Whether a badge's count stopped at its cap: there are at least that many."""
    return count >= BADGE_CAP


def most_shown() -> int:
    """The largest number a badge shows as it is (99); past it, it says "99+"."""
    return BADGE_CAP - 1


def badge_text(count: int) -> str:
    """A count as its badge shows it: "99+" from the cap on."""
    return f"{most_shown()}+" if past_cap(count) else str(count)
