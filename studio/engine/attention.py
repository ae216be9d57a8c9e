"""The transformer's kernels on CUDA: the fastest installed attention kernel that agrees with PyTorch's SDPA, and
regional compilation of the repeated blocks with a warm-up."""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from studio.domain.preset_types import Preset

if TYPE_CHECKING:
    from diffusers.pipelines.wan.pipeline_wan import WanPipeline

logger = logging.getLogger(__name__)

# Attention kernels tried on CUDA (flash-attn 3, flash-attn 2, then PyTorch's cuDNN, flash and default SDPA). Sage
# attention quantizes Q and K to int8 and so changes the picture: it is used only when the setting names it.
ATTENTION_CANDIDATES = ("_flash_3", "flash", "_native_cudnn", "_native_flash", "native")
ATTENTION_TOLERANCE = 0.05  # largest difference from PyTorch's SDPA (bf16, random inputs) a kernel may show
# Prebuilt kernels diffusers fetches from the hub through the `kernels` package (no CUDA build): tried after the
# installed flash-attn 3 when the hub is reachable and `kernels` is installed; offline they are skipped silently.
HUB_CANDIDATES = ("_flash_3_hub",)
# Kernels that quantize inside attention (SageAttention: 8-bit Q·K) and so change the picture: never chosen by the
# probe, used only when named (`--attention-backend sage_hub`), and recorded with each video like FP8 is.
PICTURE_CHANGING = ("sage", "sage_hub", "sage_varlen", "sage_blackwell_hub")


def changes_the_picture(backend: str | None) -> bool:
    """Whether a video made with this attention kernel should record it (an 8-bit kernel, like FP8 weights)."""
    return backend is not None and (backend in PICTURE_CHANGING or backend.startswith("_sage"))


def hub_candidates(*, offline: bool, kernels_installed: bool) -> list[str]:
    """The hub kernels the probe may try: none offline or without the `kernels` package."""
    return list(HUB_CANDIDATES) if kernels_installed and not offline else []


def hub_reachable_candidates() -> list[str]:
    from huggingface_hub.constants import HF_HUB_OFFLINE

    return hub_candidates(
        offline=bool(HF_HUB_OFFLINE), kernels_installed=importlib.util.find_spec("kernels") is not None
    )


def prepare_backend(name: str) -> None:
    """Check a kernel's requirements and fetch a hub kernel (diffusers does this in `set_attention_backend`).

    Raises:
        RuntimeError and the hub's own errors: the kernel cannot run here.
    """
    from diffusers.models import attention_dispatch

    backend = attention_dispatch.AttentionBackendName(name)
    attention_dispatch._check_attention_backend_requirements(backend)
    attention_dispatch._maybe_download_kernel_for_backend(backend)


def available_attention_backends() -> list[str]:
    """The candidate attention kernels whose packages are installed, best first."""
    from diffusers.models import attention_dispatch

    installed = {
        "_flash_3": getattr(attention_dispatch, "_CAN_USE_FLASH_ATTN_3", False),
        "flash": getattr(attention_dispatch, "_CAN_USE_FLASH_ATTN", False),
    }
    names = [name for name in ATTENTION_CANDIDATES if installed.get(name, True)]
    hub = [name for name in hub_reachable_candidates() if name.removesuffix("_hub") not in names]
    return hub + names  # a hub flash-attn 3 ranks with an installed one: first


def probe_attention_backends(
    names: Sequence[str], *, heads: int, head_dim: int, device: str, tokens: int = 16384, repeats: int = 3
) -> dict[str, float]:
    """Seconds per attention call of each kernel that runs here and agrees with PyTorch's SDPA (bf16 on CUDA)."""
    from diffusers.models.attention_dispatch import AttentionBackendName, dispatch_attention_fn

    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    generator = torch.Generator(device).manual_seed(0)
    q, k, v = (
        torch.randn(1, tokens, heads, head_dim, device=device, dtype=dtype, generator=generator) for _ in range(3)
    )
    reference = dispatch_attention_fn(q, k, v, backend=AttentionBackendName.NATIVE).float()
    seconds: dict[str, float] = {}
    for name in names:
        try:
            backend = AttentionBackendName(name)
            if name.endswith("_hub"):
                prepare_backend(name)
            difference = (dispatch_attention_fn(q, k, v, backend=backend).float() - reference).abs().max().item()
            if difference > ATTENTION_TOLERANCE:
                logger.warning("attention kernel %s differs from SDPA by %.3g: not used", name, difference)
                continue
            synchronize(device)
            start = time.perf_counter()
            for _ in range(repeats):
                dispatch_attention_fn(q, k, v, backend=backend)
            synchronize(device)
            seconds[name] = (time.perf_counter() - start) / repeats
        except Exception as exc:  # a kernel that does not run on this GPU or these shapes is simply not a candidate
            logger.info("attention kernel %s unavailable here: %s", name, exc)
    return seconds


def check_attention_setting(value: str | None) -> None:
    from diffusers.models.attention_dispatch import AttentionBackendName

    names = [backend.value for backend in AttentionBackendName]
    if value not in (None, "", "auto") and value not in names:
        raise ValueError(f"attention_backend: {value!r} is not one of auto, {', '.join(names)}")


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def choose_attention_backend(pipe: WanPipeline, requested: str | None, device: str) -> tuple[str, dict[str, float]]:
    """Set the experts' attention kernel: `requested`, or with "auto" the fastest that agrees with SDPA on CUDA
    (diffusers' default, PyTorch SDPA, on the CPU). Returns the kernel and the probe's seconds per call by kernel."""
    experts = [m for m in (pipe.transformer, pipe.transformer_2) if m is not None]
    timings: dict[str, float] = {}
    if requested in (None, "", "auto"):
        if not device.startswith("cuda"):
            return "native", timings
        config = pipe.transformer.config
        try:
            timings = probe_attention_backends(
                available_attention_backends(),
                heads=config.num_attention_heads,
                head_dim=config.attention_head_dim,
                device=device,
            )
        except Exception:  # no kernel may run at load (e.g. ZeroGPU outside a GPU call): keep the default
            logger.exception("attention probe failed; using PyTorch SDPA")
        if not timings:
            return "native", timings
        chosen = min(timings, key=timings.__getitem__)
        probe = ", ".join(f"{n} {s * 1e3:.1f} ms" for n, s in sorted(timings.items()))
        logger.info("attention kernel: %s (probe: %s)", chosen, probe)
    else:
        chosen = requested
    if chosen != "native":
        from diffusers.models.attention_dispatch import _AttentionBackendRegistry

        previous, _ = _AttentionBackendRegistry.get_active_backend()
        for expert in experts:
            expert.set_attention_backend(chosen)  # also sets diffusers' process-wide default: put that back,
        _AttentionBackendRegistry.set_active_backend(previous)  # the experts' processors carry the choice
    return chosen, timings


def compile_experts(pipe: WanPipeline, preset: Preset) -> None:
    """Compile each expert's repeated blocks and run them once at the default size, so jobs do not pay for it."""
    started = time.perf_counter()
    experts = [m for m in (pipe.transformer, pipe.transformer_2) if m is not None]
    for expert in experts:
        expert.compile_repeated_blocks(fullgraph=True)
    info = preset.layout_info
    config = pipe.transformer.config
    width, height = preset.qualities[preset.default_quality]
    frames = (preset.default_frames - 1) // info.vae_temporal + 1
    device = pipe._execution_device
    dtype = pipe.transformer.dtype
    latents = torch.randn(
        1, config.in_channels, frames, height // info.vae_spatial, width // info.vae_spatial, device=device
    ).to(dtype)
    text = torch.zeros(1, preset.max_prompt_tokens, config.text_dim, device=device, dtype=dtype)
    if info.expand_timesteps:  # per-token timesteps, float, as WanPipeline passes them
        tokens = frames * (height // info.vae_spatial // 2) * (width // info.vae_spatial // 2)
        timestep = torch.full((1, tokens), 999.0, device=device)
    else:
        timestep = torch.tensor([999], device=device)
    with torch.inference_mode():
        for expert in experts:
            expert(hidden_states=latents, timestep=timestep, encoder_hidden_states=text, return_dict=False)
    synchronize(str(device))
    logger.info("compiled the repeated blocks and warmed up in %.1f s", time.perf_counter() - started)
