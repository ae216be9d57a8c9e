"""X/Y comparisons: the row that records a grid's axes and cells (keyword-only, the caller owns the transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from studio.domain.errors import NotFound
from studio.store.rows import Comparison


def add(
    *, session: Session, group_id: str, spec: dict[str, Any], cells: list[list[int]], owner: str | None
) -> Comparison:
    row = Comparison(group_id=group_id, spec=spec, cells=cells, owner=owner)
    session.add(row)
    session.flush()
    return row


def find(*, session: Session, group_id: str) -> Comparison | None:
    return session.get(Comparison, group_id)


def get(*, session: Session, group_id: str) -> Comparison:
    row = find(session=session, group_id=group_id)
    if row is None:
        raise NotFound("group_id", f"no comparison {group_id}")
    return row


def recent(*, session: Session, limit: int = 50) -> list[Comparison]:
    return list(session.scalars(select(Comparison).order_by(Comparison.created_at.desc()).limit(limit)))
