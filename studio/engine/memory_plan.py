"""Memory strategy: where the weights live on a CUDA GPU, chosen from free memory and the largest job (pure).

Sizes are decimal GB (1e9 bytes), as the model cards give them. Weights are the published bf16 sizes. The activation,
text-encode, VAE decode and encode, and step-cache figures are traced: the real diffusers and transformers modules
run under PyTorch's FakeTensorMode on the CPU and studio.engine.memory_trace adds up the tensor bytes alive at each op
(`python bench/memory_trace.py` prints them; tests/engine/test_memory_trace.py re-traces smaller sizes against these
constants). They are not GPU measurements: the CUDA context, library workspaces and allocator fragmentation are
HEADROOM_GB, to be checked against `GenerationResult.peak_memory_gb` on a real GPU.

Strategies, fastest first:
- resident: every component on the GPU.
- expert_swap (two-expert models): text encoder and VAE on the GPU, only the expert in use next to them; the
  other waits in pinned CPU memory (one ~1 s copy when the pipeline switches experts).
- model_offload: diffusers' `enable_model_cpu_offload`, one whole component on the GPU at a time.
- group_offload: diffusers' group offloading, a few layers on the GPU at a time, copies overlapped with compute.
Each may add VAE tiling when the untiled decode would not fit. With FP8 transformers (studio.engine.quantize) the block
linear layers take one byte per weight instead of two, so more of the fast strategies fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from studio.domain import geometry
from studio.domain.preset_types import LayoutName, Preset

StrategyName = Literal["resident", "expert_swap", "model_offload", "group_offload"]
STRATEGIES: tuple[StrategyName, ...] = get_args(StrategyName)  # fastest first

TEXT_ENCODER_GB = 11.4  # UMT5-XXL encoder in bf16
TEXT_ENCODE_ACTIVATIONS_GB = 0.25  # traced: 0.22 GB for a prompt and a negative prompt of 512 tokens each
TRANSFORMER_GB: dict[LayoutName, float] = {"a14b": 28.6, "ti2v-5b": 10.0, "1.3b": 3.0}  # one expert, bf16
TRANSFORMER_GB["i2v-a14b"] = TRANSFORMER_GB["a14b"]  # the same experts; 36 input channels add ~0.1 M parameters
VAE_GB: dict[LayoutName, float] = {"a14b": 0.5, "ti2v-5b": 2.8, "1.3b": 0.5}  # fp32: Wan2.1 VAE 127 M params
VAE_GB["i2v-a14b"] = VAE_GB["a14b"]
# Transformer width, FFN width and layers: the activation estimate and the per-layer share of the weights.
DIMS: dict[LayoutName, tuple[int, int, int]] = {
    "a14b": (5120, 13824, 40),
    "ti2v-5b": (3072, 14336, 30),
    "1.3b": (1536, 8960, 30),
    "i2v-a14b": (5120, 13824, 40),
}
LORA_GB_PER_EXPERT = 1.2  # a rank-128 LoRA on every linear layer of a 14B expert in bf16, when the size is unknown
HEADROOM_GB = 2.0  # CUDA context, allocator fragmentation, latents, embeddings and the scheduler's tensors
TEXT_ENCODER_BLOCKS = 24  # UMT5-XXL layers; group offloading keeps 4 of them on the GPU at a time
# Traced peak of one bf16 transformer forward, in bytes per latent token and model channel: linear in the token
# count (flash-style attention keeps O(tokens)). TI2V-5B's per-token timesteps add fp32 modulation tensors
# (6 × width per token), hence its larger figure.
ACTIVATION_BYTES: dict[LayoutName, float] = {"a14b": 22.3, "ti2v-5b": 65.2, "1.3b": 32.2}
# I2V-A14B: A14B's figure (its 36 input channels change only the patch embedding: 8.60 GB traced at 720p × 81)
ACTIVATION_BYTES["i2v-a14b"] = ACTIVATION_BYTES["a14b"]
# Traced peak of the fp32 VAE decode. Untiled: pixels × (fixed + per_frame × frames) bytes — the decoder's causal
# cache at full resolution, then the growing fp32 video. Tiled (256-pixel tiles): fixed GB + pixels × frames ×
# per_frame, fitted to the largest sizes (conservative below them: 1.8 GB traced at 832×480×81 for 2.8 estimated).
DECODE_UNTILED: dict[LayoutName, tuple[float, float]] = {
    "a14b": (19460.0, 12.3),  # Wan2.1 VAE
    "ti2v-5b": (21510.0, 12.2),  # Wan2.2 VAE
    "1.3b": (19460.0, 12.3),  # Wan2.1 VAE
    "i2v-a14b": (19460.0, 12.3),  # Wan2.1 VAE
}
DECODE_TILED: dict[LayoutName, tuple[float, float]] = {"a14b": (1.3, 46.0), "ti2v-5b": (0.2, 57.0), "1.3b": (1.3, 46.0)}
DECODE_TILED["i2v-a14b"] = DECODE_TILED["a14b"]
# Traced peak of the fp32 VAE encode of an image job's conditioning video (WanImageToVideoPipeline.prepare_latents),
# in the decode's forms: I2V-A14B encodes the start image and zeros (and the end image) for all frames at full size,
# TI2V-5B (expand_timesteps) the start image alone, one frame. Untiled B/pixel (fixed, per frame); tiled (GB, B per
# pixel·frame): I2V-A14B's fitted to 832×480 and 1280×720 traces, TI2V-5B's traced at its largest image (960×960,
# 0.53 GB tiled). It runs before the first forward and never with the decode, so it takes the decode's place in the
# peak, not its sum: below the decode at every size traced, it does not raise the plan.
ENCODE_UNTILED: dict[LayoutName, tuple[float, float]] = {"i2v-a14b": (14080.0, 12.5), "ti2v-5b": (1960.0, 0.0)}
ENCODE_TILED: dict[LayoutName, tuple[float, float]] = {"i2v-a14b": (0.93, 12.7), "ti2v-5b": (0.54, 0.0)}
# Balanced's cache hooks keep bf16 hidden states (tokens × width) per cache context ("cond", "uncond") from one step
# to the next: MagCache the block stack's residual and its input, First Block Cache the first block's output and
# residual and the stack's residual (traced: the bytes left alive by one forward per context). A recipe may switch the
# method, so a plan counts the larger. One transformer's state at a time: the high-noise expert's is dropped at the
# hand-over (studio.engine.step_cache), and the low-noise expert's lives until the call returns, through the decode.
CACHE_TENSORS: dict[str, int] = {"magcache": 2, "fbcache": 3}
CACHE_CONTEXTS = 2  # classifier-free guidance: a conditional and an unconditional state


@dataclass(frozen=True)
class Strategy:
    """Where the weights live, and why."""

    name: StrategyName
    vae_tiling: bool
    need_gb: float | None  # estimated peak for the largest job; None without a GPU
    free_gb: float | None
    reason: str

    def describe(self) -> str:
        """One line for the logs and the UI, e.g. "expert_swap + VAE tiling (needs ≈ 53 GB of 80 GB free)"."""
        tiling = " + VAE tiling" if self.vae_tiling else ""
        if self.need_gb is None or self.free_gb is None:
            return f"{self.name}{tiling} ({self.reason})"
        return f"{self.name}{tiling} (needs ≈ {self.need_gb:.1f} GB of {self.free_gb:.1f} GB free; {self.reason})"


def block_linear_params(layout: LayoutName) -> float:
    """Weights of one expert's block linear layers (what FP8 quantizes): self-attention q/k/v/o, cross-attention
    q/k/v/o and the two FFN matrices, 8·d² + 2·d·ffn per block (biases and norms left out)."""
    dim, ffn, layers = DIMS[layout]
    return float(layers * (8 * dim * dim + 2 * dim * ffn))


def expert_gb(layout: LayoutName, *, fp8: bool = False) -> float:
    """One expert's weights on the GPU: bf16, or FP8 block linears (1 byte each; per-row scales are negligible)."""
    if not fp8:
        return TRANSFORMER_GB[layout]
    return TRANSFORMER_GB[layout] - block_linear_params(layout) / 1e9


def latent_tokens(preset: Preset, width: int, height: int, num_frames: int) -> int:
    """Tokens the transformer sees: ((F−1)/4+1) · (H/s/2) · (W/s/2) after the VAE and the 1×2×2 patchify."""
    info = preset.layout_info
    latent_frames = (num_frames - 1) // info.vae_temporal + 1
    return latent_frames * (height // info.vae_spatial // 2) * (width // info.vae_spatial // 2)


def activation_gb(preset: Preset, tokens: int) -> float:
    """Peak activations of one transformer forward in bf16 (traced; one block is live at a time, and classifier-free
    guidance runs its two forwards one after the other)."""
    dim, _, _ = DIMS[preset.layout]
    return tokens * dim * ACTIVATION_BYTES[preset.layout] / 1e9


def decode_gb(preset: Preset, width: int, height: int, num_frames: int, *, tiled: bool) -> float:
    """Peak activations of the fp32 VAE decode of a width × height × num_frames clip (traced)."""
    pixels = width * height
    if tiled:
        fixed_gb, per_frame = DECODE_TILED[preset.layout]
        return fixed_gb + pixels * num_frames * per_frame / 1e9
    fixed, per_frame = DECODE_UNTILED[preset.layout]
    return pixels * (fixed + per_frame * num_frames) / 1e9


def encode_gb(preset: Preset, width: int, height: int, num_frames: int, *, tiled: bool) -> float:
    """Peak activations of the fp32 VAE encode of an image job's conditioning video (traced); 0 without image input."""
    if not preset.image_input:
        return 0.0
    frames = 1 if preset.layout_info.expand_timesteps else num_frames
    if tiled:
        fixed_gb, per_frame = ENCODE_TILED[preset.layout]
        return fixed_gb + width * height * frames * per_frame / 1e9
    fixed, per_frame = ENCODE_UNTILED[preset.layout]
    return width * height * (fixed + per_frame * frames) / 1e9


def cache_state_gb(preset: Preset, tokens: int) -> float:
    """What Balanced's step-cache hooks keep on the GPU between steps, for either method (traced tensor count)."""
    dim, _, _ = DIMS[preset.layout]
    return max(CACHE_TENSORS.values()) * CACHE_CONTEXTS * tokens * dim * 2 / 1e9


def largest_job(preset: Preset) -> tuple[int, int, int]:
    """(width, height, frames) of the biggest clip the aspect-ratio and quality choices allow."""
    sizes = [
        geometry.size_for(preset, ratio, quality) for ratio in geometry.ASPECT_RATIOS for quality in preset.qualities
    ]
    width, height = max(sizes, key=lambda size: size[0] * size[1])
    return width, height, preset.max_frames


def need_gb(
    name: StrategyName,
    preset: Preset,
    *,
    tokens: int,
    width: int,
    height: int,
    num_frames: int,
    lora_gb: float,
    tiled: bool,
    fp8: bool = False,
    cached: bool = False,
) -> float:
    """Estimated peak GPU memory of one job under a strategy, headroom included (`cached`: a Balanced job)."""
    experts = 2 if preset.layout_info.two_experts else 1
    _, _, layers = DIMS[preset.layout]
    expert = expert_gb(preset.layout, fp8=fp8) + lora_gb / experts
    vae = VAE_GB[preset.layout]
    # The cache state is alive from the first forward through the decode (the hooks go after the pipeline call)
    cache = cache_state_gb(preset, tokens) if cached else 0.0
    act = activation_gb(preset, tokens) + cache
    # The VAE's turn: the decode, or the image job's encode before the first forward (no cache state yet)
    vae_work = max(
        decode_gb(preset, width, height, num_frames, tiled=tiled) + cache,
        encode_gb(preset, width, height, num_frames, tiled=tiled),
    )
    if name == "resident":
        held = experts * expert + TEXT_ENCODER_GB + vae
        peak = held + max(act, vae_work)
    elif name == "expert_swap":
        held = expert + TEXT_ENCODER_GB + vae
        peak = held + max(act, vae_work)
    elif name == "model_offload":  # one component at a time: the hook offloads the last one before loading the next
        peak = max(TEXT_ENCODER_GB + TEXT_ENCODE_ACTIVATIONS_GB, expert + act, vae + vae_work)
    else:  # group_offload: the VAE stays on the GPU; the current and the prefetched layer of the rest
        text_blocks = TEXT_ENCODER_GB * 4 / TEXT_ENCODER_BLOCKS + TEXT_ENCODE_ACTIVATIONS_GB
        peak = vae + max(text_blocks, 2 * expert / layers + act, vae_work)
    return peak + HEADROOM_GB


def choose_strategy(
    *,
    free_gb: float | None,
    preset: Preset,
    width: int,
    height: int,
    num_frames: int,
    speed: str = "quality",
    override: str | None = None,
    lora_gb: float | None = None,
    fp8: bool = False,
    step_cache: bool = False,
) -> Strategy:
    """The fastest strategy whose estimated peak for this job fits in `free_gb`.

    Args:
        free_gb: free GPU memory before loading (GB); None without a GPU: nothing to place, everything stays resident.
        width, height, num_frames: the job to plan for; at load, `largest_job(preset)`.
        speed: "fast" adds the fast LoRA's weights (`lora_gb`, or an estimate) to each expert; "balanced" the state
            of the step-cache hooks.
        override: the memory-strategy setting: a strategy name, or None / "auto" to choose.
        fp8: the experts' block linear layers are FP8 (half their bf16 size).
        step_cache: any job may be Balanced (the preset has a step cache): its hooks' state counts, as it does for
            speed "balanced".

    Raises:
        ValueError: `override` is not a strategy, or expert_swap was asked for a model with one transformer.
    """
    forced = parse_override(override, preset)
    if forced is None:
        candidates = [s for s in STRATEGIES if s != "expert_swap" or preset.layout_info.two_experts]
    else:
        candidates = [forced]
    if free_gb is None:
        return Strategy(
            "resident", False, None, None, "no CUDA GPU: the weights stay in CPU memory, nothing to offload"
        )

    experts = 2 if preset.layout_info.two_experts else 1
    lora = (LORA_GB_PER_EXPERT * experts if lora_gb is None else lora_gb) if speed == "fast" else 0.0
    job = {"tokens": latent_tokens(preset, width, height, num_frames), "width": width, "height": height}
    cached = step_cache or speed == "balanced"
    sized = f"{width}×{height}×{num_frames}"
    for name, tiled in _fastest_first(candidates):
        need = need_gb(name, preset, **job, num_frames=num_frames, lora_gb=lora, tiled=tiled, fp8=fp8, cached=cached)
        if need <= free_gb:
            why = "the setting asks for it" if len(candidates) == 1 else f"the fastest that fits {sized}"
            if tiled:
                why += "; the untiled VAE decode would not fit"
            return Strategy(name, tiled, round(need, 1), round(free_gb, 1), why)
    last = candidates[-1]
    need = need_gb(last, preset, **job, num_frames=num_frames, lora_gb=lora, tiled=True, fp8=fp8, cached=cached)
    return Strategy(
        last,
        True,
        round(need, 1),
        round(free_gb, 1),
        f"nothing fits {sized}: expect out-of-memory errors at the largest sizes; use a shorter or smaller clip",
    )


def _fastest_first(candidates: list[StrategyName]) -> list[tuple[StrategyName, bool]]:
    """(strategy, VAE tiling) pairs, expected fastest first.

    Tiling re-decodes the overlaps of 256-pixel tiles, which costs seconds on every job, while expert swapping and
    model offloading move whole components a few times per job (~1 s each for A14B's 28.6 GB experts over PCIe
    from pinned memory). So the three whole-component strategies are tried untiled before any of them is tried
    tiled; group offloading, which streams every layer on every step, comes last either way. This order is
    reasoned from those costs, not measured.
    """
    whole = [name for name in candidates if name != "group_offload"]
    layered = [name for name in candidates if name == "group_offload"]
    return [(n, False) for n in whole] + [(n, True) for n in whole] + [(n, t) for n in layered for t in (False, True)]


def parse_override(value: str | None, preset: Preset) -> StrategyName | None:
    """The memory-strategy setting: None for "auto" (or unset), else a strategy the preset can use.

    Raises:
        ValueError: not a strategy, or expert_swap for a model with one transformer.
    """
    if value in (None, "", "auto"):
        return None
    for name in STRATEGIES:
        if value == name:
            if name == "expert_swap" and not preset.layout_info.two_experts:
                raise ValueError(
                    f"memory_strategy: expert_swap needs a two-expert model and {preset.key} has one transformer; "
                    "use auto, resident, model_offload or group_offload"
                )
            return name
    raise ValueError(f"memory_strategy: {value!r} is not one of auto, {', '.join(STRATEGIES)}")
