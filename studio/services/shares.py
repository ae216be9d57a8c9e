"""Share links as the surfaces use them: create, list, revoke, and the video behind a token. Part of the facade:
`studio.shares`."""

from __future__ import annotations

from studio.store import share_links
from studio.store.database import Database
from studio.store.rows import ShareLink, Video


class Shares:
    """Links that let anyone watch one video without a login, until revoked or expired (studio.store.share_links)."""

    def __init__(self, *, db: Database) -> None:
        self.db = db

    def create(self, video_id: int, *, expires_in_s: int | None = None, confirm_flagged: bool = False) -> ShareLink:
        """Raises VideoNotFound; InvalidInput ("expires_in_s", or "confirm_flagged" for a flagged video)."""
        with self.db.write() as session:
            return share_links.create(
                session=session, video_id=video_id, expires_in_s=expires_in_s, confirm_flagged=confirm_flagged
            )

    def of_video(self, video_id: int) -> list[ShareLink]:
        """Every link of the video, newest first, revoked and expired ones included. Raises VideoNotFound."""
        with self.db.read() as session:
            return share_links.for_video(session=session, video_id=video_id)

    def revoke(self, token: str) -> ShareLink:
        """Raises ShareNotFound."""
        with self.db.write() as session:
            return share_links.revoke(session=session, token=token)

    def video(self, token: str) -> Video | None:
        """The video an active link shows; None for a malformed, unknown, revoked or expired token."""
        if not share_links.is_token(token):
            return None
        with self.db.read() as session:
            return share_links.resolve(session=session, token=token)

    status = staticmethod(share_links.status)
