"""Supported models as data: where the weights live, their fps, sizes, frame limits and defaults.

Facts come from the official Wan-Video/Wan2.2 configs (see README "Presets"); the types are in
studio.domain.preset_types. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import replace

from studio.domain.preset_types import MAX_STEPS, LayoutName, Preset
from studio.domain.step_cache import (
    WAN21_1_3B_CACHE,
    WAN22_A14B_CACHE,
    WAN22_I2V_A14B_CACHE,
    WAN22_TI2V_5B_CACHE,
)

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
    for p in (  # the order of the Models page: the real models, largest first, then their preview twins
        _A14B,
        _I2V_A14B,
        _TI2V_5B,
        _T2V_1_3B,
        _tiny(_A14B, "tiny-a14b", (160, 96)),
        _tiny(_I2V_A14B, "tiny-i2v-a14b", (160, 96)),
        _tiny(_TI2V_5B, "tiny-ti2v-5b", (160, 96)),
        _tiny(_T2V_1_3B, "tiny-1.3b", (160, 96)),
    )
}
REAL_PRESETS = ("wan2.2-t2v-a14b", "wan2.2-ti2v-5b", "wan2.1-t2v-1.3b")
TINY_PRESETS = ("tiny-a14b", "tiny-ti2v-5b", "tiny-1.3b")
IMAGE_PRESETS = ("wan2.2-i2v-a14b", "tiny-i2v-a14b")  # image-to-video only: not picked by `auto`, not text-to-video

# The real preset whose defaults a checkpoint of each layout takes when `--model` names no preset
BASE_BY_LAYOUT: dict[LayoutName, Preset] = {
    "a14b": _A14B,
    "ti2v-5b": _TI2V_5B,
    "1.3b": _T2V_1_3B,
    "i2v-a14b": _I2V_A14B,
}
