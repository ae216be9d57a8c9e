"""Steps of loading the resident pipeline: where its weights are, reading them, the fast LoRA, and placing them.

`ResidentPipeline.load` (studio.engine.pipeline) runs these as its numbered steps, with FP8, the attention kernel and
compilation in between; what it keeps from them (the LoRA's size, why fast mode is off, the strategy) is its state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

# From its module: mypy resolves `from diffusers import UniPCMultistepScheduler` to diffusers' dummy placeholder class.
from diffusers.schedulers.scheduling_unipc_multistep import UniPCMultistepScheduler

from studio.domain.downloads import Transfer
from studio.domain.presets import Preset
from studio.engine.devices import component_dtypes, free_gb
from studio.engine.downloads import fetch
from studio.engine.load_progress import component_progress
from studio.engine.lora import load_fast_lora
from studio.engine.memory_plan import Strategy, choose_strategy, largest_job
from studio.engine.offload import ExpertSwap, apply_strategy
from studio.engine.text_cache import CachingWanPipeline
from studio.engine.tiny_models import ensure_tiny_model

logger = logging.getLogger(__name__)


def weights_source(
    preset: Preset, models_dir: Path, on_progress: Callable[[Transfer], None] | None = None
) -> str | Path:
    """Where the weights are: the tiny model built under `models_dir`, a local folder, or a fetched hub id.

    Raises:
        ValueError: the preset names no weights.
    """
    if preset.tiny:
        return ensure_tiny_model(preset, models_dir)
    if preset.source is not None and Path(preset.source).expanduser().is_dir():
        return preset.source
    if preset.source is not None:  # a hub id: fetched into the HF cache first, with progress
        return fetch(
            preset.source,
            preset.revision,
            model=preset.key,
            record_dir=models_dir / "downloads",
            on_progress=on_progress,
        )
    raise ValueError(f"preset {preset.key} names no weights (source is None and it is not tiny)")


def read_pipeline(
    source: str | Path,
    preset: Preset,
    *,
    device: str,
    encode_cache_size: int,
    on_progress: Callable[[Transfer], None] | None = None,
) -> CachingWanPipeline:
    """The pipeline in CPU memory, with the preset's scheduler and no progress bar; nothing is on the device yet."""
    # `dtype`, not the deprecated `torch_dtype`; a dict is keyed by component.
    # Safetensors only: a pickled .bin can run code when it loads. A preset may pin a hub revision.
    with component_progress(Path(source), preset.key, on_progress):
        pipe = CachingWanPipeline.from_pretrained(
            source,
            dtype=component_dtypes(device),
            use_safetensors=True,
            revision=None if Path(source).is_dir() else preset.revision,
        )
    pipe.encode_cache_size = encode_cache_size
    # UniPC flow matching with the preset's shift, set explicitly
    pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config, flow_shift=preset.flow_shift)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def try_fast_lora(pipe: CachingWanPipeline, preset: Preset) -> tuple[float, str | None]:
    """Load the preset's fast LoRA, unfused and switched off: its size in GB, or 0.0 and why it did not load."""
    try:
        return load_fast_lora(pipe, preset) / 1e9, None
    except Exception as exc:  # a missing file, no network, a LoRA for another model: all disable fast mode
        logger.exception("fast mode is off: the LoRA %s did not load", preset.fast_lora_label)
        return 0.0, f"{type(exc).__name__}: {exc}"


def choose_placement(
    preset: Preset, device: str, *, override: str | None, fast: bool, lora_gb: float, fp8: bool
) -> Strategy:
    """The memory strategy for the largest job this preset allows, from the device's free memory (or `override`).

    With a step cache any job may be Balanced, so its hooks' state is counted (as the fast LoRA is when it loaded).
    """
    width, height, frames = largest_job(preset)
    return choose_strategy(
        free_gb=free_gb(device),
        preset=preset,
        width=width,
        height=height,
        num_frames=frames,
        speed="fast" if fast else "quality",
        override=override,
        lora_gb=lora_gb,
        fp8=fp8,
        step_cache=preset.step_cache is not None,
    )


def place_weights(
    pipe: CachingWanPipeline, strategy: Strategy, device: str, *, override: str | None
) -> ExpertSwap | None:
    """Put the weights where the strategy says on CUDA (an expert swap when it swaps); all of them on the CPU."""
    if device.startswith("cuda"):
        return apply_strategy(pipe, strategy, device)
    if override not in (None, "", "auto"):
        logger.info("memory strategy %s ignored on %s: nothing to offload", override, device)
    pipe.to(device)
    return None
