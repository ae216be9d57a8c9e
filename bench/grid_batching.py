"""A 2×2 X/Y comparison on a tiny random-weight model: batched seeds vs one cell after another.

Runs the same grid (seed × prompt variant: each row's two cells differ only by seed, so they can share one pipeline
call) through one real Studio with its worker batching and not (what `--batch-seeds on` / `off` set), alternating run by
run, and prints the wall time from submitting the grid
to its last video, and the ratio. A prompt × guidance grid (nothing to batch) is timed too, as the one-by-one case.

    .venv/bin/python bench/grid_batching.py [--model tiny-1.3b] [--steps 10] [--duration 1] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.config import Settings
from studio.domain import axes
from studio.domain.presets import PRESETS
from studio.domain.recipe import RecipeRequest
from studio.engine.pipeline import ResidentPipeline
from studio.services.studio import Studio
from studio.services.worker import ModelState


def run_grid(studio: Studio, base: RecipeRequest, x: axes.Axis, y: axes.Axis) -> float:
    started = time.perf_counter()
    grid = studio.grids.create(base, x, y)
    for cell in grid.cells:
        assert cell.job is not None
        done = studio.wait(cell.job.id, timeout=600)
        while not done.is_final:
            done = studio.wait(cell.job.id, timeout=600, since=done)
        assert done.video is not None, done.error
    return time.perf_counter() - started


def timed(
    args: argparse.Namespace, grids: dict[str, tuple[axes.Axis, axes.Axis]]
) -> dict[tuple[str, str], list[float]]:
    """Each grid with the worker batching and not, alternating run by run so machine noise hits both alike."""
    preset = PRESETS[args.model]
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as data:
        pipeline = ResidentPipeline(preset, models_dir=Path(data) / "models", device="cpu")
        studio = Studio(Settings(data_dir=Path(data), device="cpu", batch_seeds="on"), preset=preset, pipeline=pipeline)
        studio.start()
        try:
            deadline = time.monotonic() + 300
            while studio.model_state is not ModelState.READY:
                assert time.monotonic() < deadline and studio.model_state is not ModelState.FAILED
                time.sleep(0.1)
            assert studio.worker is not None
            base = RecipeRequest(prompt="a kite", seed=1, duration_s=args.duration, steps=args.steps)
            run_grid(studio, base, *grids["seed × prompt"])  # warm-up: first-call costs out of the figures
            for _ in range(args.repeats):
                for name, (x, y) in grids.items():
                    for mode in ("on", "off"):
                        studio.worker.batch = mode == "on"  # what --batch-seeds sets; read at each claim
                        times.setdefault((name, mode), []).append(run_grid(studio, base, x, y))
        finally:
            studio.stop()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny-1.3b", choices=[k for k, p in PRESETS.items() if p.tiny])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--duration", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    grids = {
        "seed × prompt": (axes.make_axis("seed", "1 2"), axes.make_axis("prompt", ["a {red|blue} kite"], field="y")),
        "prompt × guidance": (
            axes.make_axis("prompt", ["a {red|blue} kite"]),
            axes.make_axis("guidance", "3 5", field="y"),
        ),
    }
    results = timed(args, grids)
    print(f"{args.model}, 160×96, {args.duration:g} s, {args.steps} steps, 2×2 grid, median of {args.repeats}:")
    for name in grids:
        on, off = (statistics.median(results[name, mode]) for mode in ("on", "off"))
        print(f"  {name:18} batched {on:6.2f} s · one by one {off:6.2f} s · ratio {on / off:.2f}")


if __name__ == "__main__":
    main()
