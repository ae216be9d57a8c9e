"""Choosing the attention kernel on CUDA: the fastest installed one that agrees with PyTorch's SDPA."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import torch

logger = logging.getLogger(__name__)

# Attention kernels tried on CUDA (flash-attn 3, flash-attn 2, then PyTorch's cuDNN, flash and default SDPA). Sage
# attention quantizes Q and K to int8 and so changes the picture: it is used only when the setting names it.
ATTENTION_CANDIDATES = ("_flash_3", "flash", "_native_cudnn", "_native_flash", "native")
ATTENTION_TOLERANCE = 0.05  # largest difference from PyTorch's SDPA (bf16, random inputs) a kernel may show


def available_attention_backends() -> list[str]:
    """The candidate attention kernels whose packages are installed, best first."""
    from diffusers.models import attention_dispatch

    installed = {
        "_flash_3": getattr(attention_dispatch, "_CAN_USE_FLASH_ATTN_3", False),
        "flash": getattr(attention_dispatch, "_CAN_USE_FLASH_ATTN", False),
    }
    return [name for name in ATTENTION_CANDIDATES if installed.get(name, True)]


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
