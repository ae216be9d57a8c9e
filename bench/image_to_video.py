"""Image to video on the tiny preview models (CPU): what an image job costs next to text to video. Not a test.

    .venv/bin/python bench/image_to_video.py      # about a minute on a 2-core CPU

Prints CPU seconds per clip at the preview defaults (160×96, ~2 s, 10 steps) for: tiny TI2V-5B from text, the same from
a start image (WanImageToVideoPipeline over the same loaded modules), tiny I2V-A14B from a start image, and with an
end image; then a Join of three such clips (stream copy). Random weights: the times say what the code path costs,
not what a real model does.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.domain.presets import PRESETS
from studio.domain.recipe import RecipeRequest, build_recipe
from studio.engine.pipeline import ResidentPipeline
from studio.media import joins, mp4

RUNS = 3


def image(key: str, width: int, height: int, _fit: str) -> np.ndarray:
    rng = np.random.default_rng(len(key))
    return rng.integers(0, 255, (height, width, 3), dtype=np.uint8)


def timed(pipeline: ResidentPipeline, runs: int = RUNS, **request: object) -> tuple[float, np.ndarray]:
    recipe = build_recipe(RecipeRequest(prompt="a red kite over the sea", seed=1, **request), pipeline.preset)  # type: ignore[arg-type]
    times, frames = [], None
    for _ in range(runs):
        start = time.process_time()  # CPU seconds of this process: steadier than wall time on a shared machine
        frames = pipeline.generate(recipe).frames
        times.append(time.process_time() - start)
    assert frames is not None
    return statistics.median(times), frames


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        models = Path(folder) / "models"
        rows: list[tuple[str, float]] = []
        clips = []
        for key in ("tiny-ti2v-5b", "tiny-i2v-a14b"):
            pipeline = ResidentPipeline(PRESETS[key], models_dir=models, device="cpu")
            load = pipeline.load()
            pipeline.image_source = image
            rows.append((f"{key}: load (build on first use included)", load))
            if key == "tiny-ti2v-5b":  # interleaved, so that a busy shared CPU weighs on both alike
                text, with_image = [], []
                for _ in range(RUNS):
                    text.append(timed(pipeline, runs=1)[0])
                    seconds, frames = timed(pipeline, runs=1, start_image="a" * 64)
                    with_image.append(seconds)
                rows.append((f"{key}: text to video", statistics.median(text)))
                rows.append((f"{key}: from a start image", statistics.median(with_image)))
            else:
                seconds, frames = timed(pipeline, start_image="a" * 64)
                rows.append((f"{key}: from a start image", seconds))
            if PRESETS[key].end_image:
                seconds, _ = timed(pipeline, start_image="a" * 64, end_image="b" * 64)
                rows.append((f"{key}: start and end image", seconds))
            clips.append((frames, PRESETS[key].fps))
        frames, fps = clips[0]
        paths = []
        for n in range(3):
            path = Path(folder) / f"clip-{n}.mp4"
            mp4.write_mp4(frames, path, fps=fps)
            paths.append(path)
        start = time.perf_counter()
        result = joins.join(paths, Path(folder) / "joined.mp4")  # ffmpeg runs in a child process: wall time
        rows.append(
            (
                f"join of 3 clips ({result.info.num_frames} frames, lossless={result.lossless})",
                time.perf_counter() - start,
            )
        )
    width = max(len(name) for name, _ in rows)
    print(f"median of {RUNS} runs, CPU seconds of this process (all its threads); shape {frames.shape}")
    for name, seconds in rows:
        print(f"{name:<{width}}  {seconds:6.2f} s")


if __name__ == "__main__":
    main()
