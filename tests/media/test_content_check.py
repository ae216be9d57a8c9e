"""The content check (studio/content.py): the bundled classifier, scoring in the worker, the flag, and its off switches.

A synthetic image that open_nsfw scores high is hard to make, so the studio tests set the threshold to 0 (every
video is flagged) and check the real classifier's scores only for range and consistency.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import logging
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from studio.config import Settings
from studio.domain.recipe import RecipeRequest
from studio.media import content_check, mp4
from studio.media.content_check import ContentChecker
from studio.services.studio import Studio
from studio.store import library, share_links
from studio.store.rows import Video
from studio.ui.video_details import describe_video
from tests.fakes import PRESET, FakePipeline
from tests.helpers import database_at, migrate, wait_final

REQUEST = RecipeRequest(prompt="a paper boat in the rain", seed=7, duration_s=0.5, steps=3)
MISSING = f"content check off: {content_check.PACKAGE} is not installed"


def studio_with(tmp_path: Path, fake: FakePipeline, checker: ContentChecker | None) -> Studio:
    """A real Studio whose worker uses `checker` (None: no content check at all) instead of one from its settings."""
    instance = Studio(Settings(data_dir=tmp_path / "data", content_check=False), preset=PRESET, pipeline=fake)
    instance.worker.content_check = checker
    instance.start()
    return instance


@pytest.fixture
def flag_all(tmp_path: Path, fake: FakePipeline) -> Iterator[Studio]:
    """The real classifier with threshold 0: every scored video is flagged, whatever its frames."""
    instance = studio_with(tmp_path, fake, ContentChecker(threshold=0.0))
    yield instance
    instance.stop()


def make_video(studio: Studio, seed: int = 7) -> Video:
    """A finished video, made by the worker like any other (fake pipeline, real MP4, real row)."""
    view = wait_final(studio, studio.submit(dataclasses.replace(REQUEST, seed=seed)).id)
    assert view.video is not None, view.error
    return studio.videos.get(view.video.id)


def noise(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


# -- the classifier --------------------------------------------------------------------------------


def test_the_model_ships_inside_the_package() -> None:
    model = Path(str(importlib.resources.files(content_check.MODULE) / content_check.MODEL_FILE))
    assert model.is_file() and model.stat().st_size > 20_000_000  # about 23 MB of ONNX weights, no download


def test_the_classifier_scores_images_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the content check tried to download something")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    checker = ContentChecker()
    assert checker.available and checker.active
    small, large = checker.score_image(noise(96, 160)), checker.score_image(noise(720, 1280))
    assert 0.0 <= small <= 1.0 and 0.0 <= large <= 1.0
    as_floats = noise(96, 160).astype(np.float32) / 255.0
    assert checker.score_image(as_floats) == pytest.approx(small, abs=1e-6)  # floats are read as [0, 1]
    with pytest.raises(ValueError, match="rgb: expected shape"):
        checker.score_image(np.zeros((96, 160), np.uint8))


def test_a_video_scores_the_highest_of_its_evenly_sampled_frames(tmp_path: Path) -> None:
    frames = np.stack([noise(96, 160, seed) for seed in range(17)])
    path = tmp_path / "clip.mp4"
    mp4.write_mp4(frames, path, fps=16)
    checker = ContentChecker()

    sampled = content_check.read_sampled_frames(path, 4)
    assert len(sampled) == 4 and all(frame.shape == (96, 160, 3) for frame in sampled)
    assert checker.score_video(path) == max(checker.score_image(frame) for frame in sampled)
    assert checker.score_frames(frames) == max(checker.score_image(frames[k]) for k in (0, 5, 11, 16))
    with pytest.raises(FileNotFoundError):
        checker.score_video(tmp_path / "missing.mp4")
    (tmp_path / "not.mp4").write_bytes(b"not a video")
    with pytest.raises(ValueError, match="not a readable video"):
        checker.score_video(tmp_path / "not.mp4")
    assert checker.check_video(tmp_path / "not.mp4") is None  # the never-raising form


@pytest.mark.parametrize(
    ("num_frames", "samples", "expected"),
    [(81, 4, [0, 27, 53, 80]), (17, 4, [0, 5, 11, 16]), (2, 4, [0, 1]), (1, 4, [0]), (9, 1, [0]), (0, 4, [])],
)
def test_samples_spread_from_the_first_frame_to_the_last(num_frames: int, samples: int, expected: list[int]) -> None:
    assert content_check.sample_indices(num_frames, samples) == expected


def test_an_edit_is_flagged_when_it_or_any_source_is() -> None:
    clean, flagged = Video(content_score=0.1, flagged=False), Video(content_score=0.9, flagged=True)
    unscored = Video(content_score=None, flagged=False)
    assert content_check.for_edit(None, [unscored]) is None
    assert content_check.for_edit(content_check.Verdict(0.2, False), [clean]) == content_check.Verdict(0.2, False)
    assert content_check.for_edit(content_check.Verdict(0.2, False), [clean, flagged]) == content_check.Verdict(
        0.9, True
    )
    assert content_check.for_edit(None, [flagged, unscored]) == content_check.Verdict(0.9, True)


def test_the_threshold_is_a_probability() -> None:
    with pytest.raises(ValueError, match="content_threshold"):
        ContentChecker(threshold=1.5)
    assert content_check.is_flagged(0.8, 0.8) and not content_check.is_flagged(0.79, 0.8)


# -- in the studio -----------------------------------------------------------------------------------


def test_with_threshold_0_every_new_video_is_scored_and_flagged(flag_all: Studio) -> None:
    video = make_video(flag_all)
    assert video.content_score is not None and 0.0 <= video.content_score <= 1.0
    assert video.flagged
    with flag_all.db.read() as session:  # the flag is indexed for the surfaces that filter on it
        assert [v.id for v in session.query(Video).filter(Video.flagged.is_(True))] == [video.id]


def test_with_the_check_off_nothing_is_scored(
    tmp_path: Path, fake: FakePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was loaded with the check off")

    monkeypatch.setattr(content_check, "_load_classifier", never)
    studio = studio_with(tmp_path, fake, ContentChecker(enabled=False, threshold=0.0))
    try:
        video = make_video(studio)
        assert video.content_score is None and not video.flagged
    finally:
        studio.stop()


def test_without_the_package_the_studio_says_so_once_and_carries_on(
    tmp_path: Path, fake: FakePipeline, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, content_check.MODULE, None)  # as if it were not installed: importing it fails
    with caplog.at_level(logging.INFO, logger="studio.media.content_check"):
        checker = ContentChecker(threshold=0.0)
        assert not checker.available and not checker.active
        studio = studio_with(tmp_path, fake, checker)
        try:
            videos = [make_video(studio, seed) for seed in (1, 2)]
        finally:
            studio.stop()
    assert all(video.content_score is None and not video.flagged for video in videos)
    said = [
        r.getMessage()
        for r in caplog.records
        if r.name == "studio.media.content_check" and "not installed" in r.getMessage()
    ]
    assert said == [MISSING]


def test_a_model_that_does_not_load_is_reported_once_and_jobs_still_succeed(
    tmp_path: Path, fake: FakePipeline, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("checksum mismatch")

    monkeypatch.setattr(content_check, "_load_classifier", broken)
    studio = studio_with(tmp_path, fake, ContentChecker(threshold=0.0))
    try:
        with caplog.at_level(logging.INFO, logger="studio.media.content_check"):
            videos = [make_video(studio, seed) for seed in (1, 2)]
    finally:
        studio.stop()
    assert all(video.content_score is None and not video.flagged for video in videos)
    assert len(calls) == 1
    said = [r.getMessage() for r in caplog.records if r.name == "studio.media.content_check"]
    assert said == [f"content check off: the {content_check.PACKAGE} model did not load"]


def test_a_scoring_error_never_fails_the_job(
    tmp_path: Path, fake: FakePipeline, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    checker = ContentChecker(threshold=0.0)

    def fails(*args: object, **kwargs: object) -> float:
        raise RuntimeError("onnxruntime fell over")

    monkeypatch.setattr(checker, "score_frames", fails)
    studio = studio_with(tmp_path, fake, checker)
    try:
        with caplog.at_level(logging.ERROR, logger="studio.media.content_check"):
            video = make_video(studio)
    finally:
        studio.stop()
    assert video.content_score is None and not video.flagged
    assert "content check failed" in caplog.text and "onnxruntime fell over" in caplog.text


def test_settings_reach_the_worker(tmp_path: Path, fake: FakePipeline) -> None:
    if "content_threshold" not in Settings.model_fields:
        pytest.skip("Settings has no content_check / content_threshold yet")
    on = Studio(Settings(data_dir=tmp_path / "on", content_threshold=0.5), preset=PRESET, pipeline=fake)
    off = Studio(Settings(data_dir=tmp_path / "off", content_check=False), preset=PRESET, pipeline=fake)
    assert on.worker.content_check is not None and on.worker.content_check.threshold == 0.5
    assert off.worker.content_check is None or not off.worker.content_check.active
    assert ContentChecker.from_settings(Settings(data_dir=tmp_path)).threshold == content_check.DEFAULT_THRESHOLD


# -- what a flag changes -----------------------------------------------------------------------------


def test_a_flagged_video_is_shared_only_with_confirmation(flag_all: Studio) -> None:
    video = make_video(flag_all)
    with pytest.raises(ValueError, match=r"^confirm_flagged: video \d+ was flagged"), flag_all.db.write() as session:
        share_links.create(session=session, video_id=video.id)
    with flag_all.db.write() as session:
        link = share_links.create(session=session, video_id=video.id, confirm_flagged=True)
        assert share_links.status(link) is share_links.ShareStatus.ACTIVE


def test_an_unflagged_video_needs_no_confirmation(tmp_path: Path, fake: FakePipeline) -> None:
    studio = studio_with(tmp_path, fake, None)
    try:
        video = make_video(studio)
        with studio.db.write() as session:
            assert share_links.create(session=session, video_id=video.id).token
    finally:
        studio.stop()


def test_history_marks_a_flagged_video_with_its_score(flag_all: Studio) -> None:
    video = make_video(flag_all)
    with flag_all.db.write() as session:
        row = library.get(session=session, video_id=video.id)
        row.content_score = 0.93
    text = describe_video(flag_all.videos.get(video.id))
    assert "⚠️ flagged by the content check (score 0.93)" in text.split("\n\n")[1]  # right under the title
    with flag_all.db.write() as session:
        row = library.get(session=session, video_id=video.id)
        row.content_score, row.flagged = 0.02, False
    text = describe_video(flag_all.videos.get(video.id))
    assert "flagged" not in text and "**Content check:** passed (score 0.02)" in text


def test_an_unscored_video_says_nothing_about_the_check(tmp_path: Path, fake: FakePipeline) -> None:
    studio = studio_with(tmp_path, fake, None)
    try:
        video = make_video(studio)
    finally:
        studio.stop()
    assert video.content_score is None and "content check" not in describe_video(video)


# -- migration 0006 ----------------------------------------------------------------------------------------------


def test_migration_0006_leaves_old_videos_unscored_and_keeps_search(tmp_path: Path) -> None:
    database = database_at(tmp_path / "old.db", "0005")
    try:
        database.upgrade()
        with database.engine.connect() as connection:
            triggers = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars()
            assert sorted(triggers) == ["videos_fts_after_delete", "videos_fts_after_insert", "videos_fts_after_update"]
        with database.read() as session:
            old = library.get(session=session, video_id=1)
            assert old.content_score is None and old.flagged is False
            assert [v.id for v in library.search(session=session, query="雪地里").items] == [1]
        migrate(database, "0005", down=True)  # and back down, without a rebuild
        with database.engine.connect() as connection:
            names = [row[1] for row in connection.exec_driver_sql("PRAGMA table_info(videos)")]
            assert "content_score" not in names and "flagged" not in names
    finally:
        database.dispose()
