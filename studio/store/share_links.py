"""Share links: a permalink `/v/<token>` that plays one video without a login, until revoked or expired.

The token is the only secret: 24 random bytes (`secrets.token_urlsafe`, 32 characters), looked up through a unique
index. A link is never deleted by hand, only revoked, so the list of a video's links keeps its history; deleting
the video deletes its links (ON DELETE CASCADE).

Functions are keyword-only and take the session explicitly; the caller owns the transaction.
"""

from __future__ import annotations

import enum
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from studio.domain.errors import InvalidInput, NotFound
from studio.store import library
from studio.store.rows import ShareLink, Video, as_utc, utcnow

TOKEN_BYTES = 24  # 32 URL-safe characters
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")  # anything else in a URL is not a token: no lookup at all
MIN_EXPIRES_IN_S = 60
MAX_EXPIRES_IN_S = 365 * 24 * 3600


class ShareStatus(enum.StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class ShareNotFound(NotFound):
    """No share link with that token."""


class FlaggedNeedsConfirmation(InvalidInput):
    """The video was flagged by the content check: a link to it needs `confirm_flagged=True`."""


def is_token(text: str) -> bool:
    """True when `text` has the shape of a token (it may still be unknown)."""
    return TOKEN_PATTERN.fullmatch(text) is not None


def status(link: ShareLink, *, now: datetime | None = None) -> ShareStatus:
    """Revoked wins over expired: a revoked link stays revoked whatever its expiry."""
    if link.revoked_at is not None:
        return ShareStatus.REVOKED
    if link.expires_at is not None and as_utc(link.expires_at) <= (now or utcnow()):
        return ShareStatus.EXPIRED
    return ShareStatus.ACTIVE


def create(
    *, session: Session, video_id: int, expires_in_s: int | None = None, confirm_flagged: bool = False
) -> ShareLink:
    """A new active link to the video, valid for `expires_in_s` seconds (None: until revoked).

    A video flagged by the content check (studio/content.py) is shared only with `confirm_flagged=True`: its page
    blurs it behind a "Show anyway" button, but the link still makes it public.

    Raises:
        VideoNotFound: no video with that id.
        InvalidInput: `expires_in_s` outside MIN_EXPIRES_IN_S…MAX_EXPIRES_IN_S.
        FlaggedNeedsConfirmation (InvalidInput): the video is flagged and `confirm_flagged` is not True.
    """
    if expires_in_s is not None and not MIN_EXPIRES_IN_S <= expires_in_s <= MAX_EXPIRES_IN_S:
        raise InvalidInput(
            "expires_in_s",
            f"{expires_in_s} is outside the allowed range {MIN_EXPIRES_IN_S}–{MAX_EXPIRES_IN_S} s "
            "(1 minute to 365 days); pass None for a link that lasts until it is revoked",
        )
    video = library.get(session=session, video_id=video_id)
    if video.flagged and confirm_flagged is not True:
        score = "" if video.content_score is None else f" (score {video.content_score:.2f})"
        raise FlaggedNeedsConfirmation(
            "confirm_flagged",
            f"video {video_id} was flagged by the content check{score}; anyone with the link can watch it (blurred "
            "until they choose to see it): pass confirm_flagged=true to share it anyway",
        )
    created_at = utcnow()
    link = ShareLink(
        token=secrets.token_urlsafe(TOKEN_BYTES),
        video_id=video_id,
        created_at=created_at,
        expires_at=None if expires_in_s is None else created_at + timedelta(seconds=expires_in_s),
    )
    session.add(link)
    session.flush()
    return link


def for_video(*, session: Session, video_id: int) -> list[ShareLink]:
    """Every link of the video, newest first, revoked and expired ones included (see `status`).

    Raises:
        VideoNotFound: no video with that id.
    """
    library.get(session=session, video_id=video_id)
    query = select(ShareLink).where(ShareLink.video_id == video_id).order_by(ShareLink.id.desc())
    return list(session.scalars(query))


def get(*, session: Session, token: str) -> ShareLink:
    """Raises ShareNotFound for an unknown (or malformed) token."""
    link = session.scalars(select(ShareLink).where(ShareLink.token == token)).first() if is_token(token) else None
    if link is None:
        raise ShareNotFound("token", "no such share link")
    return link


def revoke(*, session: Session, token: str) -> ShareLink:
    """Stop the link from working; revoking it again keeps the first revocation time.

    Raises:
        ShareNotFound: no link with that token.
    """
    link = get(session=session, token=token)
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        session.flush()
    return link


def resolve(*, session: Session, token: str, now: datetime | None = None) -> Video | None:
    """The video an active link points to; None for a malformed, unknown, revoked or expired token."""
    try:
        link = get(session=session, token=token)
    except ShareNotFound:
        return None
    if status(link, now=now) is not ShareStatus.ACTIVE:
        return None
    return session.get(Video, link.video_id)
