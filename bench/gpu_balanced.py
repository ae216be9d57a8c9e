"""Balanced vs Quality for bench/gpu_step.py: a transformer-only denoising loop with and without MagCache.

Runs the model's own step count with two forwards a step (CFG) inside diffusers' `cache_context("cond"/"uncond")`,
as WanPipeline does, on the transformer gpu_step.py built; latents move by a plain Euler step on the UniPC flow sigmas
(the update does not change what the transformer costs). Balanced applies the studio's own MagCache configs
(studio.engine.step_cache.expert_configs with the preset's published ratios); on A14B the one built transformer stands
for both experts: the high-noise config for the steps before the hand-over, then the low-noise one from an empty
cache. Prints seconds per clip and per step (transformer only), the ratio, and forwards run of the uncached count.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The studio's own presets and cache configs (pure Python and diffusers; no database, no UI)
PRESET_OF_CASE = {"a14b-720p": "wan2.2-t2v-a14b", "a14b-480p": "wan2.2-t2v-a14b", "ti2v-720p": "wan2.2-ti2v-5b"}


def schedule(preset: Any, steps: int) -> tuple[list[float], int]:
    """The sigmas of `steps` UniPC flow steps at the preset's shift, and how many the high-noise expert runs."""
    from diffusers.schedulers.scheduling_unipc_multistep import UniPCMultistepScheduler

    scheduler = UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, num_train_timesteps=1000, flow_shift=preset.flow_shift
    )
    scheduler.set_timesteps(steps, device="cpu")
    boundary = preset.layout_info.boundary_ratio
    high = steps if boundary is None else int((scheduler.timesteps >= boundary * 1000).sum().item())
    return [float(s) for s in scheduler.sigmas], high


def denoise_loop(model: Any, inputs: dict[str, Any], sigmas: list[float], configs: list[Any], high: int) -> int:
    """One clip's transformer calls; returns the forwards whose last block ran."""
    ran = [0]
    handle = model.blocks[-1].ffn.register_forward_pre_hook(lambda *_: ran.__setitem__(0, ran[0] + 1))
    latents = inputs["hidden_states"].clone()
    timestep = inputs["timestep"]
    active = None
    try:
        for i in range(len(sigmas) - 1):
            wanted = (configs[0] if i < high else configs[-1]) if configs else None
            if wanted is not None and wanted is not active:
                if model.is_cache_enabled:
                    model.disable_cache()  # the hand-over: the next expert's cache starts empty
                model.enable_cache(wanted)
                active = wanted
            preds = []
            for name in ("cond", "uncond"):
                with model.cache_context(name, step_index=i, sigma=sigmas[i], num_inference_steps=len(sigmas) - 1):
                    preds.append(model(**(inputs | {"hidden_states": latents, "timestep": timestep}))[0])
            latents = latents + (sigmas[i + 1] - sigmas[i]) * (preds[1] + 5.0 * (preds[0] - preds[1]))
    finally:
        handle.remove()
        if model.is_cache_enabled:
            model.disable_cache()
    return ran[0]


def time_balanced(
    model: Any, inputs: dict[str, Any], case_key: str, device: str, scale: float, steps: int | None
) -> dict[str, float] | None:
    """Quality and Balanced clips of the case's model (transformer only); prints and returns the figures."""
    from studio.domain.presets import PRESETS
    from studio.engine.step_cache import expert_configs

    preset = PRESETS[PRESET_OF_CASE[case_key]]
    if preset.step_cache is None:
        return None
    steps = steps or preset.steps
    sigmas, high = schedule(preset, steps)
    two = preset.layout_info.two_experts
    configs = [c for c in expert_configs(preset.step_cache, steps, high, two) if c is not None]
    figures: dict[str, float] = {"steps": steps, "forwards": 2 * steps}
    for path, chosen in (("quality", []), ("balanced", configs)):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        started = time.perf_counter()
        with torch.inference_mode():
            ran = denoise_loop(model, inputs, sigmas, chosen, high)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        figures[f"{path}_s"] = (time.perf_counter() - started) * scale
        figures[f"{path}_run"] = ran
    ratio = figures["quality_s"] / figures["balanced_s"]
    print(
        f"  balanced vs quality ({preset.step_cache.label}, {steps} steps, transformer only): "
        f"quality {figures['quality_s']:.1f} s/clip ({figures['quality_s'] / steps:.2f} s/step), "
        f"balanced {figures['balanced_s']:.1f} s/clip ({figures['balanced_s'] / steps:.2f} s/step), "
        f"×{ratio:.2f}; forwards run {figures['balanced_run']:.0f} of {2 * steps} "
        f"({2 * steps - figures['balanced_run']:.0f} skipped)"
    )
    return figures
