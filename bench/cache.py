"""Balanced on the tiny models (CPU): forwards skipped, wall-clock ratio and PSNR against Quality. A benchmark.

    python bench/cache.py [--models tiny-a14b,tiny-ti2v-5b,tiny-1.3b] [--steps 10,40] [--repeats 3]

For each tiny preset and step count it runs Quality once per repeat and Balanced at each cache setting (MagCache
with the preset's published ratios at several thresholds, and First Block Cache), through the studio's own
ResidentPipeline, and prints: forwards run of the uncached count, the median denoise and whole-clip seconds as a
ratio to Quality's, and the PSNR of Balanced's frames against Quality's (same seed). This checks that the mechanism
does what it says; it is no quality claim for real weights — random weights make noise, and First Block Cache's
decisions depend on the weights.
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.domain.presets import PRESETS, TINY_PRESETS
from studio.domain.recipe import RecipeRequest, build_recipe
from studio.engine.pipeline import ResidentPipeline

SETTINGS = (("magcache", 0.02), ("magcache", 0.06), ("magcache", 0.12), ("magcache", 0.24), ("fbcache", 0.1))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def timed(pipeline: ResidentPipeline, recipe: object, repeats: int) -> tuple[float, float, object]:
    """Median denoise and whole-call seconds over `repeats` runs, and the last result."""
    denoise, clip, result = [], [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = pipeline.generate(recipe)  # type: ignore[arg-type]
        clip.append(time.perf_counter() - started)
        denoise.append(result.denoise_s)
    return statistics.median(denoise), statistics.median(clip), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(TINY_PRESETS))
    parser.add_argument("--steps", default="10,40", help="comma-separated step counts")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--duration", type=float, default=1.0, help="seconds of video (160×96 preview size)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    print(f"bench/cache.py: {args.models} · steps {args.steps} · {args.duration:g} s · median of {args.repeats}")
    print("random-weight tiny models on the CPU: the mechanism, not the quality of real weights")
    with tempfile.TemporaryDirectory() as models_dir:
        for key in args.models.split(","):
            preset = PRESETS[key]
            pipeline = ResidentPipeline(preset, models_dir=Path(models_dir), device="cpu")
            pipeline.load()
            for steps in (int(s) for s in args.steps.split(",")):
                base = {"prompt": "a paper boat in the rain", "seed": 3, "duration_s": args.duration, "steps": steps}
                quality = build_recipe(RecipeRequest(**base), preset)  # type: ignore[arg-type]
                pipeline.generate(quality)  # warm-up
                q_denoise, q_clip, q_result = timed(pipeline, quality, args.repeats)
                print(f"{key} · {steps} steps · quality: denoise {q_denoise:.3f} s, clip {q_clip:.3f} s")
                for method, threshold in SETTINGS:
                    request = RecipeRequest(**base, speed="balanced", cache=method, cache_threshold=threshold)  # type: ignore[arg-type]
                    balanced = build_recipe(request, preset)
                    denoise, clip, result = timed(pipeline, balanced, args.repeats)
                    run, total = result.forwards_run, result.forwards_total  # type: ignore[attr-defined]
                    print(
                        f"  balanced {method} {threshold:<5g} forwards {run:>3}/{total:<3} "
                        f"({total - run} skipped)  denoise ×{denoise / q_denoise:.2f}  clip ×{clip / q_clip:.2f}  "
                        f"PSNR {psnr(result.frames, q_result.frames):.1f} dB"  # type: ignore[attr-defined]
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
