"""Full-text search over chat messages, Chinese included.

A message's search tokens are every Chinese character on its own and every pair of neighbouring
Chinese characters (unigrams and bigrams: Chinese has no spaces to split words on), plus each
Latin word and number in lower case. A query is tokenised the same way, so one-, two- and
longer Chinese queries all find their messages: a longer one needs all of its pairs.

PostgreSQL keeps the tokens in `messaging_message.search_vector` (GIN-indexed) and matches them
with a tsquery made of the same tokens, quoted, without any text parser. Pairs only approximate a
longer Chinese phrase, so the few messages the index finds are then checked for the phrase itself.
SQLite keeps an FTS5 table with the trigram tokenizer, filled by triggers: a query word or Chinese
run of three or more characters goes through it, shorter ones fall back to LIKE.
"""

import re
from collections.abc import Collection

from django.db import connections
from django.db.models import BooleanField, F, Func, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from messaging.choices import MessageKind

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[{_HAN}]+|[^\W_{_HAN}]+", re.UNICODE)
_IS_HAN = re.compile(rf"[{_HAN}]")


def search_tokens(text: str) -> list[str]:
    """The tokens a message (or a query) is indexed (or looked up) by, in order, no repeats."""
    tokens: list[str] = []
    for run in _RUN.findall(text or ""):
        if _IS_HAN.match(run):
            tokens.extend(run)
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            tokens.append(run.lower())
    return list(dict.fromkeys(tokens))


def query_tokens(query: str) -> list[str]:
    """What a query must match: a Chinese run of one character is that character, a longer one
    is its pairs; Latin words as they are."""
    tokens: list[str] = []
    for run in _RUN.findall(query or ""):
        if _IS_HAN.match(run):
            tokens.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
        else:
            tokens.append(run.lower())
    return list(dict.fromkeys(tokens))


def index_message(message) -> None:
    """Store the message's search vector (PostgreSQL: built straight from the tokens with
    `array_to_tsvector`, so no text parser or locale decides what a Chinese word is). SQLite
    keeps its FTS5 table up to date with triggers instead."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    tokens = search_tokens(message.text)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE messaging_message SET search_vector = array_to_tsvector(%s::text[]) "
            "WHERE id = %s",
            [tokens, message.pk],
        )


# --- searching ------------------------------------------------------------------------------------
EXCERPT_CHARS = 160
_NOT_WORD = rf"[^\W_{_HAN}]"


def query_terms(query: str) -> list[str]:
    """What a message must contain to match `query`: each Chinese run as it is, each Latin word
    (in lower case) as a whole word."""
    runs = _RUN.findall(query or "")
    return list(dict.fromkeys(run if _IS_HAN.match(run) else run.lower() for run in runs))


def _whole_word(word: str) -> str:
    """A regular expression for `word` where it stands as a word of its own (as the tokens see
    it: letters and digits around it make it part of a longer word, Chinese does not)."""
    return rf"(?<!{_NOT_WORD}){re.escape(word)}(?!{_NOT_WORD})"


def _tsquery(tokens: list[str]) -> str:
    """`'a' & 'b'`: every token a quoted lexeme (quotes doubled, backslashes escaped), so nothing
    typed into a search box acts as a tsquery operator."""
    quoted = (token.replace("\\", "\\\\").replace("'", "''") for token in tokens)
    return " & ".join(f"'{lexeme}'" for lexeme in quoted)


class _TsQuery(Func):
    """A tsquery read as it is written (`'…'::tsquery`): no text search parser splits it."""

    template = "%(expressions)s::tsquery"


class _Matches(Func):
    """`search_vector @@ tsquery`."""

    template = "(%(expressions)s)"
    arg_joiner = " @@ "
    output_field = BooleanField()


def _indexed(queryset: QuerySet, query: str, terms: list[str]) -> QuerySet:
    """PostgreSQL: the GIN index finds the messages holding every token; of those, only the
    ones that really contain each longer Chinese run are kept (its pairs may sit apart)."""
    queryset = queryset.filter(
        _Matches(F("search_vector"), _TsQuery(Value(_tsquery(query_tokens(query)))))
    )
    for term in terms:
        if _IS_HAN.match(term) and len(term) > 2:
            queryset = queryset.filter(text__contains=term)
    return queryset


def _trigram(queryset: QuerySet, terms: list[str]) -> QuerySet:
    """SQLite: FTS5's trigram index finds the terms of three characters or more; shorter ones
    (a trigram index cannot look them up) are matched with LIKE."""
    long = [term for term in terms if len(term) >= 3]
    if long:
        table = SQLITE_TABLE
        phrases = " ".join('"{}"'.format(term.replace('"', '""')) for term in long)
        queryset = queryset.filter(
            id__in=RawSQL(f"SELECT rowid FROM {table} WHERE {table} MATCH %s", [phrases])
        )
    return _contains(queryset, terms, indexed=set(long))


def _contains(queryset: QuerySet, terms: list[str], indexed: Collection[str] = ()) -> QuerySet:
    """Each term found by scanning the text: a Chinese run anywhere, a Latin word as a word."""
    for term in terms:
        if _IS_HAN.match(term):
            if term not in indexed:
                queryset = queryset.filter(text__contains=term)
        else:
            if term not in indexed:
                queryset = queryset.filter(text__icontains=term)
            queryset = queryset.filter(text__iregex=_whole_word(term))
    return queryset


def message_search(queryset: QuerySet, query: str) -> QuerySet:
    """The messages of `queryset` containing every Chinese run and every word of `query`, newest
    first. Deleted messages and system lines are never found; a query without a single letter,
    digit or Chinese character finds nothing."""
    terms = query_terms(query)
    if not terms:
        return queryset.none()
    queryset = queryset.filter(kind=MessageKind.TEXT, deleted_at__isnull=True)
    vendor = connections[queryset.db].vendor
    if vendor == "postgresql":
        queryset = _indexed(queryset, query, terms)
    elif vendor == "sqlite":
        queryset = _trigram(queryset, terms)
    else:
        queryset = _contains(queryset, terms)
    return queryset.order_by("-id")


def _hits(query: str) -> re.Pattern | None:
    terms = sorted(query_terms(query), key=len, reverse=True)
    if not terms:
        return None
    return re.compile(
        "|".join(re.escape(term) if _IS_HAN.match(term) else _whole_word(term) for term in terms),
        re.IGNORECASE,
    )


def highlight(text: str, query: str = "", *, width: int = EXCERPT_CHARS) -> SafeString:
    """An excerpt of `text` around the first hit of `query`, at most `width` characters, with
    every hit in <mark>; everything else is escaped."""
    text = " ".join((text or "").split())
    pattern = _hits(query)
    hits = list(pattern.finditer(text)) if pattern else []
    start = max(0, hits[0].start() - width // 4) if hits else 0
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))  # a hit near the end: show more of what leads to it
    pieces = ["…"] if start else []
    position = start
    for hit in hits:
        if hit.end() > end:
            break
        pieces += [escape(text[position : hit.start()]), "<mark>", escape(hit.group()), "</mark>"]
        position = hit.end()
    pieces.append(escape(text[position:end]))
    if end < len(text):
        pieces.append("…")
    return mark_safe("".join(pieces))


# --- the indexes ---------------------------------------------------------------------------------
POSTGRESQL_INDEX = "message_search_vector_idx"
POSTGRESQL_CREATE_INDEX = (
    f"CREATE INDEX IF NOT EXISTS {POSTGRESQL_INDEX} ON messaging_message USING gin (search_vector)"
)

SQLITE_TABLE = "messaging_message_search"
# The text of every message in an FTS5 table that stores none itself (it reads
# messaging_message); the triggers keep the two in step.
SQLITE_CREATE_TABLE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {SQLITE_TABLE} USING fts5("
    "text, content='messaging_message', content_rowid='id', tokenize='trigram')"
)
_FORGET = (
    f"INSERT INTO {SQLITE_TABLE}({SQLITE_TABLE}, rowid, text) VALUES ('delete', old.id, old.text);"
)
_LEARN = f"INSERT INTO {SQLITE_TABLE}(rowid, text) VALUES (new.id, new.text);"
SQLITE_TRIGGERS = {
    f"{SQLITE_TABLE}_insert": f"AFTER INSERT ON messaging_message BEGIN {_LEARN} END",
    f"{SQLITE_TABLE}_update": (
        f"AFTER UPDATE OF text ON messaging_message BEGIN {_FORGET} {_LEARN} END"
    ),
    f"{SQLITE_TABLE}_delete": f"AFTER DELETE ON messaging_message BEGIN {_FORGET} END",
}


def sqlite_index_create(cursor) -> None:
    """The FTS5 table, its triggers, and every message already stored in it."""
    cursor.execute(SQLITE_CREATE_TABLE)
    for name, body in SQLITE_TRIGGERS.items():
        cursor.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")
    cursor.execute(f"INSERT INTO {SQLITE_TABLE}({SQLITE_TABLE}) VALUES ('rebuild')")


def sqlite_index_drop(cursor) -> None:
    for name in SQLITE_TRIGGERS:
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
    cursor.execute(f"DROP TABLE IF EXISTS {SQLITE_TABLE}")


def sqlite_index_repair(*, using: str = "default", **kwargs) -> None:
    """After every migrate (post_migrate): SQLite alters a table by copying it into a new one,
    which drops its triggers; when the search table is there but a trigger is missing, put
    them back and refill the index."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {row[0] for row in cursor.fetchall()}
        if SQLITE_TABLE in present and not present.issuperset(SQLITE_TRIGGERS):
            sqlite_index_create(cursor)
