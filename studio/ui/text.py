"""A user's text inside the studio's Markdown: shown as typed, never rendered as Markdown or HTML."""

from __future__ import annotations

import string

_ESCAPED = {ord(c): f"\\{c}" for c in string.punctuation}  # CommonMark: any ASCII punctuation can be escaped


def plain(text: object) -> str:
    """`text` for a gr.Markdown: every ASCII punctuation character backslash-escaped, so `![x](http://…)`, `<img>`,
    links, emphasis and headings all show as the characters they are (and nothing is fetched)."""
    return str(text).translate(_ESCAPED)
