"""Django's `{# … #}` comment ends on its own line: one spanning lines is printed to the page as
it is written. Every template of the product writes a longer comment with `{% comment %}`."""

import re
from pathlib import Path

from django.conf import settings

OPENING = re.compile(r"\{#")


def template_files():
    roots = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]
    roots += [
        Path(settings.BASE_DIR) / app for app in ("config", "incidents", "locations", "messaging")
    ]
    for root in roots:
        yield from (path for path in root.rglob("*") if path.suffix in (".html", ".txt", ".css"))


def unclosed_comments(text: str) -> list[int]:
    """The numbers of the lines where a `{#` opens that does not close on the same line."""
    return [
        number
        for number, line in enumerate(text.splitlines(), 1)
        for opening in OPENING.finditer(line)
        if "#}" not in line[opening.end() :]
    ]


def test_the_check_finds_a_comment_spanning_lines():
    assert unclosed_comments("{% load i18n %}\n{# one line #}\n{# two\n lines #}\n") == [3]


def test_no_template_has_a_one_line_comment_spanning_lines():
    found = {
        str(path): lines
        for path in template_files()
        if (lines := unclosed_comments(path.read_text(encoding="utf-8")))
    }

    assert found == {}
