"""Searching the video history: prompt and negative prompt, model and favorite filters, newest first, paged.

On SQLite it uses the FTS5 trigram index that migration 0002 keeps in step with `videos` by triggers, so any
substring of 3 or more characters (Chinese included) is an index lookup; shorter words fall back to LIKE. Other
databases use ILIKE. Whatever a person types is searched for as typed: no query syntax leaks through.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Integer, column, func, or_, select, table
from sqlalchemy.orm import Session

from studio.store.rows import SEARCH_INDEX_TABLE, Video

MAX_PAGE = 200
MAX_SEARCH_TERMS = 32  # more words than anyone types; bounds the size of the SQL a pasted essay makes
TRIGRAM_MIN_CHARS = 3  # the trigram index cannot look up a word shorter than this
_LIKE_ESCAPE = "\\"

# The FTS5 table of migration 0002: raw SQL, not an ORM model. Its hidden column of the same name takes MATCH.
_search_index = table(SEARCH_INDEX_TABLE, column("rowid", Integer), column(SEARCH_INDEX_TABLE))


@dataclass(frozen=True)
class VideoPage:
    """One page of the history, newest first, and how many videos match in all."""

    items: list[Video]
    total: int
    limit: int
    offset: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


def search(
    *,
    session: Session,
    query: str = "",
    model: str | None = None,
    favorite: bool | None = None,
    limit: int = 24,
    offset: int = 0,
    comparison: bool | None = None,
    image_to_video: bool | None = None,
) -> VideoPage:
    """Videos whose prompt or negative prompt contains every word of `query`, newest first.

    Any text is a valid query: quotes, operators and wildcards are searched for as typed, never interpreted.
    English matches regardless of case. An empty query lists everything that passes the filters. `comparison`
    True keeps the videos of comparisons (cells and exports), False the others.

    Raises:
        ValueError: `limit` outside 1…MAX_PAGE or a negative `offset`.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit: must be between 1 and {MAX_PAGE}, got {limit}")
    if offset < 0:
        raise ValueError(f"offset: must be 0 or more, got {offset}")
    conditions = _conditions(session=session, query=query, model=model, favorite=favorite)
    if comparison is not None:  # part of a comparison: one of its cells, or an export of one
        conditions.append(Video.group_id.is_not(None) if comparison else Video.group_id.is_(None))
    if image_to_video is not None:  # the recipe names a start image (a JSON null reads as SQL NULL in both databases)
        started = Video.recipe["start_image"].as_string().is_not(None)
        conditions.append(started if image_to_video else ~started)
    page = select(Video).where(*conditions).order_by(Video.id.desc()).limit(limit).offset(offset)
    items = list(session.scalars(page))
    if offset == 0 and len(items) < limit:
        total = len(items)  # the page holds every match: no need to count them again
    else:
        total = session.scalar(select(func.count()).select_from(Video).where(*conditions)) or 0
    return VideoPage(items=items, total=total, limit=limit, offset=offset)


def search_terms(query: str) -> list[str]:
    """The words of a search: control characters split words, invisible format characters go, duplicates go."""
    kept = []
    for char in query:
        category = unicodedata.category(char)
        if category == "Cc":
            kept.append(" ")
        elif category not in ("Cf", "Cs"):  # zero-width marks; lone surrogates cannot even be encoded
            kept.append(char)
    return list(dict.fromkeys("".join(kept).split()))[:MAX_SEARCH_TERMS]


def fts_phrase(term: str) -> str:
    """A word as an FTS5 string literal: matched as typed, whatever operators or quotes it holds."""
    return '"' + term.replace('"', '""') + '"'


def like_pattern(term: str) -> str:
    """`%term%` with LIKE's wildcards (and the escape character itself) escaped."""
    escaped = term.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", _LIKE_ESCAPE + "%")
    return "%" + escaped.replace("_", _LIKE_ESCAPE + "_") + "%"


def _conditions(*, session: Session, query: str, model: str | None, favorite: bool | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if model is not None:
        conditions.append(Video.model == model)
    if favorite is not None:
        conditions.append(Video.favorite == favorite)
    terms = search_terms(query)
    if session.get_bind().dialect.name == "sqlite":
        indexed = [term for term in terms if len(term) >= TRIGRAM_MIN_CHARS]
        if indexed:
            # Phrases side by side mean AND in FTS5; each matches in either column.
            match = _search_index.c[SEARCH_INDEX_TABLE].match(" ".join(fts_phrase(term) for term in indexed))
            conditions.append(Video.id.in_(select(_search_index.c.rowid).where(match)))
        # SQLite's LIKE ignores case for ASCII letters.
        conditions += [_contains(term, ilike=False) for term in terms if len(term) < TRIGRAM_MIN_CHARS]
    else:
        conditions += [_contains(term, ilike=True) for term in terms]
    return conditions


def _contains(term: str, *, ilike: bool) -> ColumnElement[bool]:
    pattern = like_pattern(term)
    columns = (Video.prompt, Video.negative_prompt)
    if ilike:
        return or_(*(text.ilike(pattern, escape=_LIKE_ESCAPE) for text in columns))
    return or_(*(text.like(pattern, escape=_LIKE_ESCAPE) for text in columns))
