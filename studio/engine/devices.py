"""Where the pipeline runs: the device, the dtypes its parts load in, free memory, and the hooks a run checks.

Small torch helpers that `pipeline.py` uses around a run; `detect_device` also serves `--model auto`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from diffusers.pipelines.wan.pipeline_wan import WanPipeline

from studio.engine.contract import StepInfo


def detect_device(device: str = "cuda") -> tuple[str, float | None]:
    """(`device`, its total GiB) when CUDA is available (`cuda` is GPU 0, `cuda:N` GPU N), else ("cpu", None)."""
    if torch.cuda.is_available():
        return device, torch.cuda.get_device_properties(torch.device(device)).total_memory / 2**30
    return "cpu", None


def component_dtypes(device: str) -> dict[str, torch.dtype] | torch.dtype:
    """Load dtypes: bf16 everywhere on CUDA except the VAE, kept in fp32 (bf16 decodes visibly worse); fp32 on CPU."""
    if device.startswith("cuda"):
        return {"default": torch.bfloat16, "vae": torch.float32}
    return torch.float32


def free_gb(device: str) -> float | None:
    """Free memory on the GPU before the weights go there (1e9 bytes); None on the CPU."""
    if not device.startswith("cuda"):
        return None
    try:
        free, _ = torch.cuda.mem_get_info(torch.device(device))
    except RuntimeError:  # e.g. ZeroGPU outside a GPU call: plan with the card's size
        free = torch.cuda.get_device_properties(torch.device(device)).total_memory
    return float(free / 1e9)


def synchronize(device: str) -> None:
    """Wait for the GPU's queued work (CUDA runs ahead of Python); nothing on the CPU."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def interrupt_points(pipe: WanPipeline, *, compiled: bool) -> list[torch.nn.Module]:
    """Where a run checks for a cancel: before every transformer block and every latent frame the VAE decodes.

    Compiled blocks run their hooks inside the compiled code, so there each expert's call is the point instead
    (twice a step with guidance) and the blocks stay free of Python calls.
    """
    experts = [m for m in (pipe.transformer, pipe.transformer_2) if m is not None]
    points: list[torch.nn.Module] = [pipe.vae.decoder]
    for expert in experts:
        points += [expert] if compiled else list(expert.blocks)
    return points


class RunHooks:
    """Timing and cancel checks around one pipeline call: hooks registered on entering, removed on leaving.

    The first transformer call starts the denoising loop; each step callback ends a step (after the GPU caught up,
    so progress and ETA are honest) and reports it to `on_step`; `interrupt` runs at every interrupt point.
    """

    def __init__(
        self,
        pipe: WanPipeline,
        device: str,
        *,
        compiled: bool,
        on_step: Callable[[StepInfo], None] | None,
        interrupt: Callable[[], None] | None,
    ) -> None:
        self.pipe = pipe
        self.device = device
        self.compiled = compiled
        self.on_step = on_step
        self.interrupt = interrupt
        self.loop_start: float | None = None
        self.last_step: float | None = None
        self._handles: list[Any] = []

    def _mark_loop_start(self, _module: torch.nn.Module, _args: Any) -> None:
        if self.loop_start is None:
            synchronize(self.device)
            self.loop_start = time.perf_counter()

    def step_end(self, p: WanPipeline, i: int, _t: torch.Tensor, callback_kwargs: dict[str, Any]) -> dict[str, Any]:
        """The pipeline's `callback_on_step_end`."""
        synchronize(self.device)
        self.last_step = time.perf_counter()
        if self.on_step is not None:
            elapsed = self.last_step - (self.loop_start or self.last_step)
            self.on_step(StepInfo(step=i + 1, total=p.num_timesteps, elapsed_s=elapsed))
        return callback_kwargs

    def __enter__(self) -> RunHooks:
        experts = [m for m in (self.pipe.transformer, self.pipe.transformer_2) if m is not None]
        self._handles = [m.register_forward_pre_hook(self._mark_loop_start) for m in experts]
        if self.interrupt is not None:
            check = self.interrupt
            points = interrupt_points(self.pipe, compiled=self.compiled)
            self._handles += [m.register_forward_pre_hook(lambda _m, _a: check()) for m in points]
        return self

    def __exit__(self, *_exc: object) -> None:
        for handle in self._handles:
            handle.remove()
