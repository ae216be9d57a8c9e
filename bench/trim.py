"""Trim speed: studio.media.trims.trim (frame-accurate and lossless) against moviepy's subclip + write_videofile.

    .venv/bin/python bench/trim.py [--runs 5]

Cuts 1.0–4.0 s out of a 5 s 1280×720 24 fps clip (121 frames of moving gradient, grain and a sliding box, so the
encoder has real work). Runs alternate between the sides so machine noise hits them alike. Goals: frame-accurate
≤ 0.8 s, lossless ≤ 0.05 s. Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from moviepy import VideoFileClip

from studio.media import mp4, trims

WIDTH, HEIGHT, FPS, FRAMES = 1280, 720, 24, 121
START_S, END_S = 1.0, 4.0


def make_clip(path: Path) -> None:
    """A 5 s clip with motion and grain everywhere, like a generated video rather than a flat test card."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    grain = np.random.default_rng(0).integers(0, 40, (HEIGHT, WIDTH), dtype=np.uint8)
    frames = np.empty((FRAMES, HEIGHT, WIDTH, 3), dtype=np.uint8)
    for i in range(FRAMES):
        frames[i, ..., 0] = (xs * 255 // WIDTH + 6 * i) % 256
        frames[i, ..., 1] = (ys * 255 // HEIGHT + 3 * i) % 256
        frames[i, ..., 2] = ((xs + ys) // 3 + 11 * i + grain) % 256
        frames[i, 40:120, 40 + 8 * i : 120 + 8 * i] = 255
    mp4.write_mp4(frames, path, fps=FPS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="studio-bench-trim-"))
    try:
        run(work, args.runs)
    finally:
        shutil.rmtree(work)


def run(work: Path, runs: int) -> None:
    source = work / "source.mp4"
    make_clip(source)

    def moviepy_trim(target: Path) -> None:
        with VideoFileClip(str(source)) as clip:
            clip.subclipped(START_S, END_S).write_videofile(str(target), logger=None)

    accurate = f"edits.trim frame-accurate ({trims.TRIM_PRESET})"
    lossless = "edits.trim lossless (stream copy)"
    moviepy = "moviepy subclipped(1, 4).write_videofile"
    sides: dict[str, Callable[[Path], object]] = {
        accurate: lambda t: trims.trim(source, t, start_s=START_S, end_s=END_S),
        f"edits.trim frame-accurate ({mp4.PRESET}, as write_mp4)": lambda t: trims.trim(
            source, t, start_s=START_S, end_s=END_S, preset=mp4.PRESET
        ),
        lossless: lambda t: trims.trim(source, t, start_s=START_S, end_s=END_S, lossless=True),
        moviepy: moviepy_trim,
    }
    timings: dict[str, list[float]] = {name: [] for name in sides}
    outputs = {name: work / f"out-{n}.mp4" for n, name in enumerate(sides)}
    for lap in range(runs + 1):  # lap 0 warms caches (file pages, moviepy's imports) and is not counted
        for name, side in sides.items():
            started = time.perf_counter()
            side(outputs[name])
            if lap:
                timings[name].append(time.perf_counter() - started)

    print(f"source: {WIDTH}×{HEIGHT} × {FRAMES} frames at {FPS} fps; cut {START_S}–{END_S} s; {runs} runs")
    print(f"cpus: {os.cpu_count()}")
    medians = {name: statistics.median(times) for name, times in timings.items()}
    for name, median in medians.items():
        info = mp4.probe(outputs[name])  # decodes: the true frame count
        size_mb = outputs[name].stat().st_size / 1e6
        print(
            f"{name:52s} median {median:.3f} s (min {min(timings[name]):.3f}) {median / medians[moviepy]:.3f}× moviepy"
            f"  {info.num_frames} frames, {info.duration_s:.2f} s, {size_mb:.1f} MB"
        )
    landed = trims.trim(source, work / "check.mp4", start_s=START_S, end_s=END_S, lossless=True)
    print(f"lossless cut landed at {landed.actual_start_s:.3f}–{landed.actual_end_s:.3f} s (keyframes)")
    print(f"goals: frame-accurate {medians[accurate]:.3f} s (≤ 0.8), lossless {medians[lossless]:.3f} s (≤ 0.05)")


if __name__ == "__main__":
    main()
