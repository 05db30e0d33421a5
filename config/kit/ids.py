"""Ids that come from a URL: a number a database key can hold, or the page does not exist."""

from django.http import Http404

LARGEST_KEY = 2**63 - 1


def pk_or_404(value) -> int:
    """`value` as a primary key, or 404 for "abc", "-1" or a number no key can be."""
    text = str(value)
    if not text.isdigit() or int(text) > LARGEST_KEY:
        raise Http404
    return int(text)
