"""Share links: create, list, resolve, revoke, expire, and their end with their video (studio/shares.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from studio.domain.recipe import RecipeRequest
from studio.services.studio import Studio
from studio.store import library, share_links
from studio.store.library import VideoNotFound
from studio.store.rows import ShareLink, utcnow
from tests.helpers import wait_final

REQUEST = RecipeRequest(prompt="a paper boat in the rain", seed=7, duration_s=0.5, steps=3)


def make_video(studio: Studio) -> int:
    """A real video, made by the worker like any other (fake pipeline, real MP4 and row)."""
    view = wait_final(studio, studio.submit(REQUEST).id)
    assert view.video is not None, view.error
    return view.video.id


def test_a_new_link_resolves_to_its_video(studio: Studio) -> None:
    video_id = make_video(studio)
    with studio.db.write() as session:
        link = share_links.create(session=session, video_id=video_id)
        token = link.token
    assert link.expires_at is None and link.revoked_at is None
    assert share_links.status(link) is share_links.ShareStatus.ACTIVE
    with studio.db.read() as session:
        video = share_links.resolve(session=session, token=token)
        assert video is not None and video.id == video_id and video.seed == 7


def test_tokens_are_long_url_safe_and_unique(studio: Studio) -> None:
    video_id = make_video(studio)
    with studio.db.write() as session:
        tokens = [share_links.create(session=session, video_id=video_id).token for _ in range(50)]
    assert len(set(tokens)) == 50
    assert all(len(token) >= 32 and share_links.is_token(token) for token in tokens)


def test_unknown_and_malformed_tokens_resolve_to_nothing(studio: Studio) -> None:
    make_video(studio)
    with studio.db.read() as session:
        for token in ["A" * 32, "short", "x" * 65, "has space in it 0123", "../../etc/passwd-0123456", "%27%20OR%201"]:
            assert share_links.resolve(session=session, token=token) is None, token
        with pytest.raises(share_links.ShareNotFound, match="token"):
            share_links.get(session=session, token="B" * 32)


def test_a_revoked_link_stops_resolving_and_keeps_its_first_revocation(studio: Studio) -> None:
    video_id = make_video(studio)
    with studio.db.write() as session:
        token = share_links.create(session=session, video_id=video_id).token
    with studio.db.write() as session:
        first = share_links.revoke(session=session, token=token).revoked_at
    with studio.db.write() as session:
        again = share_links.revoke(session=session, token=token)
        assert again.revoked_at is not None and first is not None
        assert (
            share_links.as_utc(again.revoked_at) == first
            and share_links.status(again) is share_links.ShareStatus.REVOKED
        )
    with studio.db.read() as session:
        assert share_links.resolve(session=session, token=token) is None
        with pytest.raises(share_links.ShareNotFound):
            share_links.revoke(session=session, token="C" * 32)


def test_a_link_expires_at_its_time(studio: Studio) -> None:
    video_id = make_video(studio)
    with studio.db.write() as session:
        link = share_links.create(session=session, video_id=video_id, expires_in_s=3600)
        token, expires_at = link.token, share_links.as_utc(link.expires_at or utcnow())
    assert timedelta(minutes=59) < expires_at - utcnow() <= timedelta(hours=1)
    with studio.db.read() as session:
        assert share_links.resolve(session=session, token=token, now=expires_at - timedelta(seconds=1)) is not None
        assert share_links.resolve(session=session, token=token, now=expires_at) is None
        assert share_links.resolve(session=session, token=token, now=expires_at + timedelta(days=1)) is None
        assert share_links.resolve(session=session, token=token) is not None  # the real clock: an hour to go


def test_an_expiry_stored_in_the_past_is_expired(studio: Studio) -> None:
    video_id = make_video(studio)
    with studio.db.write() as session:
        token = share_links.create(session=session, video_id=video_id, expires_in_s=60).token
        session.execute(update(ShareLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    with studio.db.read() as session:
        assert share_links.resolve(session=session, token=token) is None
        (link,) = share_links.for_video(session=session, video_id=video_id)
        assert share_links.status(link) is share_links.ShareStatus.EXPIRED


def test_revoked_wins_over_expired(studio: Studio) -> None:
    video_id = make_video(studio)
    with studio.db.write() as session:
        link = share_links.create(session=session, video_id=video_id, expires_in_s=60)
        share_links.revoke(session=session, token=link.token)
    assert share_links.status(link, now=utcnow() + timedelta(days=1)) is share_links.ShareStatus.REVOKED


def test_a_videos_links_are_listed_newest_first_with_their_status(studio: Studio) -> None:
    video_id, other_id = make_video(studio), make_video(studio)
    with studio.db.write() as session:
        revoked = share_links.create(session=session, video_id=video_id).token
        expiring = share_links.create(session=session, video_id=video_id, expires_in_s=60).token
        active = share_links.create(session=session, video_id=video_id).token
        share_links.create(session=session, video_id=other_id)
        share_links.revoke(session=session, token=revoked)
    with studio.db.read() as session:
        links = share_links.for_video(session=session, video_id=video_id)
        assert [link.token for link in links] == [active, expiring, revoked]
        later = utcnow() + timedelta(minutes=2)
        assert [share_links.status(link, now=later).value for link in links] == ["active", "expired", "revoked"]


@pytest.mark.parametrize("expires_in_s", [-1, 0, 59, 365 * 24 * 3600 + 1, 10**30])
def test_an_expiry_outside_a_minute_to_a_year_is_refused(studio: Studio, expires_in_s: int) -> None:
    video_id = make_video(studio)
    with pytest.raises(ValueError, match=r"expires_in_s: .*60–31536000"), studio.db.write() as session:
        share_links.create(session=session, video_id=video_id, expires_in_s=expires_in_s)


@pytest.mark.parametrize("expires_in_s", [60, 365 * 24 * 3600])
def test_the_bounds_themselves_are_allowed(studio: Studio, expires_in_s: int) -> None:
    video_id = make_video(studio)
    with studio.db.write() as session:
        link = share_links.create(session=session, video_id=video_id, expires_in_s=expires_in_s)
        assert link.expires_at is not None and link.expires_at - link.created_at == timedelta(seconds=expires_in_s)


def test_an_unknown_video_has_no_links_to_make_or_list(studio: Studio) -> None:
    with pytest.raises(VideoNotFound, match="video_id"), studio.db.write() as session:
        share_links.create(session=session, video_id=999)
    with pytest.raises(VideoNotFound), studio.db.read() as session:
        share_links.for_video(session=session, video_id=999)


def test_deleting_a_video_deletes_its_links(studio: Studio) -> None:
    video_id, kept_id = make_video(studio), make_video(studio)
    with studio.db.write() as session:
        token = share_links.create(session=session, video_id=video_id).token
        kept = share_links.create(session=session, video_id=kept_id).token
    with studio.db.write() as session:
        library.delete(session=session, store=studio.media, video_id=video_id)
    with studio.db.read() as session:
        assert session.scalar(select(func.count()).select_from(ShareLink)) == 1  # the cascade, not a dead row
        assert share_links.resolve(session=session, token=token) is None
        assert share_links.resolve(session=session, token=kept) is not None
