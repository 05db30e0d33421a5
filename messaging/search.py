"""Full-text search over chat messages, Chinese included.

A message's search tokens are every Chinese character on its own and every pair of neighbouring
Chinese characters (unigrams and bigrams: Chinese has no spaces to split words on), plus each
Latin word and number in lower case. A query is tokenised the same way, so one-, two- and
longer Chinese queries all find their messages: a longer one needs all of its pairs.
"""

import re

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
