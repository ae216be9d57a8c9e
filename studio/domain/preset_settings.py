"""The `--model`, `--fast-lora` and `--cache` settings turned into a preset (studio.domain.presets)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from studio.domain.errors import InvalidInput
from studio.domain.preset_types import LayoutName, Preset
from studio.domain.presets import BASE_BY_LAYOUT, PRESETS, REAL_PRESETS
from studio.domain.step_cache import parse_setting


def with_fast_lora(
    preset: Preset,
    *,
    lora: str | None,
    lora_2: str | None = None,
    scale: float | None = None,
    scale_2: float | None = None,
) -> Preset:
    """The preset with the `--fast-lora` settings applied: None keeps the preset's LoRA, "none" turns fast mode off.

    Raises:
        ValueError: a low-noise LoRA or scale for a model with one transformer.
    """
    if (lora_2 is not None or scale_2 is not None) and not preset.layout_info.two_experts:
        raise ValueError(f"fast_lora_2: {preset.key} has one transformer; give only --fast-lora")
    changes: dict[str, object] = {}
    if lora is not None:
        off = lora.strip().lower() in ("", "none")
        changes |= {"fast_lora": None if off else lora.strip(), "fast_lora_2": None}
    if lora_2 is not None:
        changes["fast_lora_2"] = lora_2.strip() or None
    if scale is not None:
        changes["fast_lora_scale"] = float(scale)
    if scale_2 is not None:
        changes["fast_lora_2_scale"] = float(scale_2)
    return replace(preset, **changes)  # type: ignore[arg-type]


def with_step_cache(preset: Preset, setting: str | None) -> Preset:
    """The preset with the `--cache` setting applied (studio.domain.step_cache.parse_setting): None keeps its cache,
    "none" turns Balanced off, "METHOD[:THRESHOLD]" replaces the method or threshold.

    Raises:
        InvalidInput: an unknown method, a threshold out of range, or MagCache without calibration (field "cache").
    """
    return replace(preset, step_cache=parse_setting(setting, preset.step_cache))


class UnknownModelError(InvalidInput):
    """`--model` names nothing the studio can load."""

    def __init__(self, message: str) -> None:
        super().__init__("model", message)


def pick_auto(gpu_memory_gb: float | None) -> Preset:
    """`--model auto`: the largest real model the GPU holds resident, or the tiny preview without CUDA."""
    if gpu_memory_gb is None:
        return PRESETS["tiny-a14b"]
    for key in REAL_PRESETS:  # largest first
        if gpu_memory_gb >= PRESETS[key].min_gpu_gb:
            return PRESETS[key]
    return PRESETS["tiny-a14b"]


def resolve(model: str, *, gpu_memory_gb: float | None = None) -> Preset:
    """Turn the `--model` setting into a preset.

    Accepts "auto", a preset key, a known hub id, a local diffusers folder, or any other hub id of a Wan
    diffusers checkpoint (its layout is read from model_index.json).

    Raises:
        UnknownModelError: the value names no preset, folder or reachable checkpoint.
    """
    model = model.strip()
    if model == "auto":
        return pick_auto(gpu_memory_gb)
    if model in PRESETS:
        return PRESETS[model]
    for preset in PRESETS.values():
        if preset.source == model:
            return preset
    index = _read_model_index(model)
    layout = _layout_from_index(index)
    base = BASE_BY_LAYOUT[layout]
    name = Path(model).name if Path(model).is_dir() else model
    return replace(base, key=model, label=f"{name} ({base.label} layout)", source=model)


def _read_model_index(model: str) -> dict[str, object]:
    folder = Path(model).expanduser()
    try:
        if folder.is_dir():
            path = folder / "model_index.json"
        else:
            from huggingface_hub import hf_hub_download

            path = Path(hf_hub_download(model, "model_index.json"))
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except Exception as exc:  # a typo, no network, a folder without a pipeline: all the same to the user
        raise UnknownModelError(_unknown_message(model, exc)) from exc
    if not isinstance(loaded, dict) or loaded.get("_class_name") not in ("WanPipeline", "WanImageToVideoPipeline"):
        raise UnknownModelError(_unknown_message(model, "its model_index.json is not a WanPipeline"))
    return loaded


def _layout_from_index(index: dict[str, object]) -> LayoutName:
    transformer_2 = index.get("transformer_2")
    if index.get("_class_name") == "WanImageToVideoPipeline" and isinstance(transformer_2, list) and transformer_2[0]:
        return "i2v-a14b"
    if isinstance(transformer_2, list) and transformer_2[0] is not None:
        return "a14b"
    if index.get("expand_timesteps"):
        return "ti2v-5b"
    return "1.3b"


def _unknown_message(model: str, why: object) -> str:
    choices = ", ".join(["auto", *PRESETS])
    return (
        f"cannot use {model!r} ({why}). Allowed: {choices}, a local diffusers folder of a Wan "
        "pipeline, or a Hugging Face hub id of one."
    )
