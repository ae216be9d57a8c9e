"""Studio overhead: one recipe end to end through the queue vs a bare diffusers call plus MP4 export.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/overhead.py [--model tiny-a14b] [--runs 7]

Both sides load the same saved tiny model with `WanPipeline.from_pretrained`, run the same recipe and seed, and
encode with the same `studio.media.mp4.write_mp4`, so the ratio isolates what the studio adds: validation, the job row,
a database write per step, the poster, moving the file into the history and the video row. Runs alternate
between the two sides so machine noise hits both alike. Goal: ratio ≤ 1.10. Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from diffusers import UniPCMultistepScheduler, WanPipeline

from studio.config import Settings
from studio.domain.presets import PRESETS
from studio.domain.recipe import RecipeRequest, build_recipe
from studio.engine.tiny_models import ensure_tiny_model
from studio.media import mp4
from studio.services.studio import Studio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny-a14b", choices=[k for k, p in PRESETS.items() if p.tiny])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()

    preset = PRESETS[args.model]
    work = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    settings = Settings(model=args.model, data_dir=work / "data", device="cpu")
    request = RecipeRequest(prompt="a lighthouse in a storm", seed=1234, duration_s=args.seconds, steps=args.steps)
    recipe = build_recipe(request, preset)

    # The bare side: diffusers as its docs show it, plus the same encoder.
    folder = ensure_tiny_model(preset, settings.models_dir)
    pipe = WanPipeline.from_pretrained(folder, dtype=torch.float32)
    pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config, flow_shift=recipe.flow_shift)
    pipe.set_progress_bar_config(disable=True)

    def bare_run(index: int) -> float:
        started = time.perf_counter()
        kwargs = {"guidance_scale_2": recipe.guidance_2} if recipe.guidance_2 is not None else {}
        with torch.inference_mode():  # as the studio runs it, so only the studio's own work differs
            frames = pipe(
                prompt=recipe.prompt,
                negative_prompt=recipe.negative_prompt,
                height=recipe.height,
                width=recipe.width,
                num_frames=recipe.num_frames,
                num_inference_steps=recipe.steps,
                guidance_scale=recipe.guidance,
                generator=torch.Generator("cpu").manual_seed(recipe.seed),
                output_type="np",
                **kwargs,
            ).frames[0]
        mp4.write_mp4(frames, work / f"bare-{index}.mp4", fps=recipe.fps, recipe=recipe.to_dict())
        return time.perf_counter() - started

    # The studio side: submit → queued job → worker → MP4 + poster + rows.
    studio = Studio(settings, preset=preset)
    studio.start()
    while studio.model_state.value == "loading":
        time.sleep(0.01)

    def studio_run() -> float:
        started = time.perf_counter()
        view = studio.wait(studio.submit(request).id, timeout=600)
        elapsed = time.perf_counter() - started
        assert view.video is not None, view.error
        return elapsed

    bare_run(-1), studio_run()  # warm-up: first-call allocations on both sides
    bare, through = [], []
    for index in range(args.runs):
        bare.append(bare_run(index))
        through.append(studio_run())
    studio.stop()

    b, s = statistics.median(bare), statistics.median(through)
    print(
        f"model {args.model}: {recipe.width}×{recipe.height} × {recipe.num_frames} frames, {recipe.steps} steps, "
        f"{args.runs} runs each, torch threads {torch.get_num_threads()}"
    )
    print(f"bare pipe(...) + MP4 export   median {b:.3f} s  (min {min(bare):.3f}, max {max(bare):.3f})")
    print(f"studio queue → MP4 + history  median {s:.3f} s  (min {min(through):.3f}, max {max(through):.3f})")
    print(f"ratio studio / bare: {s / b:.3f}  (goal ≤ 1.10)")


if __name__ == "__main__":
    main()
