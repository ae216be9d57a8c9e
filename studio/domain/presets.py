"""Supported models as data: where the weights live, their layout, fps, sizes, frame limits and defaults.

Facts come from the official Wan-Video/Wan2.2 configs (see README "Presets"). Nothing here imports torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from studio.domain.errors import InvalidInput
from studio.domain.step_cache import (
    WAN21_1_3B_CACHE,
    WAN22_A14B_CACHE,
    WAN22_I2V_A14B_CACHE,
    WAN22_TI2V_5B_CACHE,
    StepCache,
    parse_setting,
)

# Wan's own default negative prompt (Chinese), used by all three official models.
WAN_NEGATIVE_PROMPT = (
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，"
    "JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，"
    "手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走"
)

LayoutName = Literal["a14b", "ti2v-5b", "1.3b", "i2v-a14b"]
MAX_STEPS = 100  # the most denoising steps any recipe may ask for


@dataclass(frozen=True)
class Layout:
    """The architecture family of a Wan checkpoint: what the pipeline must be told about it."""

    name: LayoutName
    two_experts: bool  # high-noise `transformer` + low-noise `transformer_2`
    boundary_ratio: float | None  # where the pipeline switches from the first expert to the second
    expand_timesteps: bool  # Wan2.2 TI2V-5B's per-token timesteps
    vae_spatial: int  # pixels per latent cell along each side (8 for the Wan2.1 VAE, 16 for Wan2.2's)
    vae_temporal: int  # frames per latent frame
    # Image-to-video: the transformer reads the noisy latents next to a mask and the encoded start (and end) image
    # (16 + 4 + 16 = 36 input channels; WanImageToVideoPipeline); such a model cannot run from text alone.
    image_channels: bool = False


LAYOUTS: dict[LayoutName, Layout] = {
    "a14b": Layout(
        "a14b", two_experts=True, boundary_ratio=0.875, expand_timesteps=False, vae_spatial=8, vae_temporal=4
    ),
    "ti2v-5b": Layout(
        "ti2v-5b", two_experts=False, boundary_ratio=None, expand_timesteps=True, vae_spatial=16, vae_temporal=4
    ),
    "1.3b": Layout(
        "1.3b", two_experts=False, boundary_ratio=None, expand_timesteps=False, vae_spatial=8, vae_temporal=4
    ),
    # Wan2.2-I2V-A14B: two experts switching at 0.900 (wan/configs/wan_i2v_A14B.py), image channels, no CLIP encoder
    "i2v-a14b": Layout(
        "i2v-a14b",
        two_experts=True,
        boundary_ratio=0.9,
        expand_timesteps=False,
        vae_spatial=8,
        vae_temporal=4,
        image_channels=True,
    ),
}


@dataclass(frozen=True)
class Preset:
    """One model the studio can run, with the defaults its authors use."""

    key: str  # what `--model` accepts, e.g. "wan2.2-t2v-a14b"
    label: str  # shown in the UI
    layout: LayoutName
    source: str | None  # hub id or local folder; None for tiny presets (built under the data dir)
    fps: int
    qualities: dict[str, tuple[int, int]]  # quality tier -> native landscape (width, height)
    size_multiple: int  # width and height must be multiples of this
    min_frames: int
    max_frames: int
    default_frames: int
    steps: int
    guidance: float
    guidance_2: float | None  # low-noise expert's guidance (two-expert models only)
    flow_shift: float
    negative_prompt: str = WAN_NEGATIVE_PROMPT
    tiny: bool = False  # random weights: preview mode, output is noise
    min_gpu_gb: float = 0.0  # smallest GPU that holds it resident in bf16 (used by `--model auto`)
    max_prompt_tokens: int = 512  # UMT5 reads this many tokens; the rest is cut
    # Fast mode: a step-distilled LoRA (local .safetensors file or folder, or hub "owner/repo[/file]"), loaded unfused
    revision: str | None = None  # a hub commit or tag to pin the weights to (None: the default branch)
    fast_lora: str | None = None  # the (high-noise) transformer's LoRA; None: no fast mode
    fast_lora_2: str | None = None  # the low-noise expert's LoRA on two-expert models; None: the same as fast_lora
    fast_lora_scale: float = 1.0
    fast_lora_2_scale: float = 1.0
    fast_steps: int = 4
    fast_guidance: float = 1.0  # ≤ 1 turns classifier-free guidance off: one forward per step, no negative prompt
    fast_flow_shift: float | None = None  # None: the model's own flow shift
    # Bounds on one job, so that no single request holds the only worker for hours: the largest width × height
    # (0: the largest quality tier's), and the largest width × height × frames × steps (0: that area × max_frames ×
    # MAX_STEPS, i.e. no bound beyond the three separate ones).
    max_pixels: int = 0
    max_work: int = 0
    # Balanced: the model's own steps and guidance with step caching (studio.domain.step_cache); None: no Balanced
    step_cache: StepCache | None = None
    # --compile: the repeated blocks are compiled with full graphs, which the step cache's hooks break (no Balanced)
    compiled: bool = False
    # Image-to-video (studio.domain.start_image): takes a start image; needs one; takes an end image too
    image_input: bool = False
    image_required: bool = False
    end_image: bool = False

    @property
    def layout_info(self) -> Layout:
        return LAYOUTS[self.layout]

    @property
    def pixel_limit(self) -> int:
        return self.max_pixels or max(width * height for width, height in self.qualities.values())

    @property
    def work_limit(self) -> int:
        return self.max_work or self.pixel_limit * self.max_frames * MAX_STEPS

    @property
    def default_quality(self) -> str:
        return next(iter(self.qualities))

    @property
    def fast_lora_label(self) -> str | None:
        """Which LoRA fast mode uses, as recorded in a recipe, e.g. "high: <file> ×1; low: <file> ×1"."""
        if self.fast_lora is None:
            return None
        if not self.layout_info.two_experts:
            return f"{self.fast_lora} ×{self.fast_lora_scale:g}"
        low = self.fast_lora_2 or self.fast_lora
        return f"high: {self.fast_lora} ×{self.fast_lora_scale:g}; low: {low} ×{self.fast_lora_2_scale:g}"


_A14B = Preset(
    key="wan2.2-t2v-a14b",
    label="Wan2.2 T2V A14B (two experts)",
    layout="a14b",
    source="Wan-AI/Wan2.2-T2V-A14B-Diffusers",
    fps=16,
    qualities={"720p": (1280, 720), "480p": (832, 480)},
    size_multiple=16,
    min_frames=5,
    max_frames=81,
    default_frames=81,
    steps=40,
    guidance=4.0,
    guidance_2=3.0,
    flow_shift=12.0,
    min_gpu_gb=75.0,
    # Wan2.2-Lightning 4-step LoRAs (lightx2v), as repackaged by Kijai: the pair diffusers' own Wan 2.2 LoRA support
    # was shown with (huggingface/diffusers#12074). Downloaded on first load; a failed download only disables fast mode.
    fast_lora="Kijai/WanVideo_comfy/Wan22-Lightning/Wan2.2-Lightning_T2V-A14B-4steps-lora_HIGH_fp16.safetensors",
    fast_lora_2="Kijai/WanVideo_comfy/Wan22-Lightning/Wan2.2-Lightning_T2V-A14B-4steps-lora_LOW_fp16.safetensors",
    step_cache=WAN22_A14B_CACHE,
)

_TI2V_5B = Preset(
    key="wan2.2-ti2v-5b",
    label="Wan2.2 TI2V 5B",
    layout="ti2v-5b",
    source="Wan-AI/Wan2.2-TI2V-5B-Diffusers",
    fps=24,
    qualities={"720p": (1280, 704)},
    size_multiple=32,
    min_frames=5,
    max_frames=121,
    default_frames=121,
    steps=50,
    guidance=5.0,
    guidance_2=None,
    flow_shift=5.0,
    min_gpu_gb=20.0,
    step_cache=WAN22_TI2V_5B_CACHE,
    image_input=True,  # text-and-image: the start image replaces the first latent frame (expand_timesteps)
)

_T2V_1_3B = Preset(
    key="wan2.1-t2v-1.3b",
    label="Wan2.1 T2V 1.3B",
    layout="1.3b",
    source="Wan-AI/Wan2.1-T2V-1.3B-Diffusers",
    fps=16,
    qualities={"480p": (832, 480)},
    size_multiple=16,
    min_frames=5,
    max_frames=81,
    default_frames=81,
    steps=50,
    guidance=5.0,
    guidance_2=None,
    flow_shift=3.0,
    min_gpu_gb=8.0,
    step_cache=WAN21_1_3B_CACHE,
)


# Wan2.2-I2V-A14B: defaults from the Wan2.2 repo's wan/configs/wan_i2v_A14B.py (40 steps, guidance 3.5 for both
# experts, shift 5.0, boundary 0.900; 81 frames at 16 fps). Its resident pipeline runs only with a start image.
_I2V_A14B = Preset(
    key="wan2.2-i2v-a14b",
    label="Wan2.2 I2V A14B (two experts, image to video)",
    layout="i2v-a14b",
    source="Wan-AI/Wan2.2-I2V-A14B-Diffusers",
    fps=16,
    qualities={"720p": (1280, 720), "480p": (832, 480)},
    size_multiple=16,
    min_frames=5,
    max_frames=81,
    default_frames=81,
    steps=40,
    guidance=3.5,
    guidance_2=3.5,
    flow_shift=5.0,
    min_gpu_gb=75.0,
    step_cache=WAN22_I2V_A14B_CACHE,
    image_input=True,
    image_required=True,
    end_image=True,  # first-and-last-frame clips (`last_image`)
)


def _tiny(real: Preset, key: str, preview_size: tuple[int, int]) -> Preset:
    """A random-weight copy of a real layout with small preview sizes, for CPUs and tests.

    Its bounds keep any one job under about half a minute of a 2-core CPU: explicit sizes up to four times the preview
    area, and at most the preview size at the longest duration and MAX_STEPS steps (about 10 s there).
    """
    area = preview_size[0] * preview_size[1]
    return replace(
        real,
        key=key,
        label=f"Preview: tiny random-weight {real.label}",
        source=None,
        qualities={"preview": preview_size},
        steps=10,
        tiny=True,
        min_gpu_gb=0.0,
        fast_lora=None,  # random weights: a test or the person gives one with `with_fast_lora`
        fast_lora_2=None,
        default_frames=33 if real.fps == 16 else 49,  # about 2 s
        max_pixels=4 * area,
        max_work=area * real.max_frames * MAX_STEPS,
    )


PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        _A14B,
        _TI2V_5B,
        _T2V_1_3B,
        _tiny(_A14B, "tiny-a14b", (160, 96)),
        _tiny(_TI2V_5B, "tiny-ti2v-5b", (160, 96)),
        _tiny(_T2V_1_3B, "tiny-1.3b", (160, 96)),
        _I2V_A14B,
        _tiny(_I2V_A14B, "tiny-i2v-a14b", (160, 96)),
    )
}
REAL_PRESETS = ("wan2.2-t2v-a14b", "wan2.2-ti2v-5b", "wan2.1-t2v-1.3b")
TINY_PRESETS = ("tiny-a14b", "tiny-ti2v-5b", "tiny-1.3b")
IMAGE_PRESETS = ("wan2.2-i2v-a14b", "tiny-i2v-a14b")  # image-to-video only: not picked by `auto`, not text-to-video


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
    base = {"a14b": _A14B, "ti2v-5b": _TI2V_5B, "1.3b": _T2V_1_3B, "i2v-a14b": _I2V_A14B}[layout]
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
