"""What a supported model is, as types: its architecture (Layout) and its defaults and bounds (Preset).

The presets themselves are data in studio.domain.presets. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from studio.domain.step_cache import StepCache

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
