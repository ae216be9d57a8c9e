"""Placing the weights by memory strategy on CUDA: expert swapping, model or group offloading."""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Sequence
from typing import Any

import torch
from diffusers.hooks.group_offloading import apply_group_offloading
from diffusers.pipelines.wan.pipeline_wan import WanPipeline

from studio.engine.memory_plan import Strategy
from studio.engine.quantize import inner_tensor_names, is_quantized

logger = logging.getLogger(__name__)


class ExpertSwap:
    """Keeps on the GPU only the expert the pipeline is about to call; the other waits in pinned CPU memory.

    Inference never changes the weights, so the CPU copies made once at load stay current: offloading an expert
    is pointing its tensors back at them (no copy), onloading is one host-to-device copy (~1 s for a 28.6 GB
    expert). A two-expert job switches once at the boundary, and back at the next job's first step.

    FP8 weights (studio.engine.quantize) are torchao tensor subclasses whose data lives in inner tensors (qdata, scale):
    `.data` does not reach those, so onloading swaps the whole tensor (`torch.utils.swap_tensors`) and offloading
    points the inner tensors back at the CPU copy, as diffusers' group offloading does.
    """

    def __init__(self, experts: Sequence[torch.nn.Module], device: str | torch.device) -> None:
        self.device = torch.device(device)
        pin = self.device.type == "cuda"
        self._tensors: list[list[tuple[torch.Tensor, torch.Tensor]]] = []
        for expert in experts:
            pairs: list[tuple[torch.Tensor, torch.Tensor]] = []
            for tensor in itertools.chain(expert.parameters(), expert.buffers()):
                host = _pinned(tensor.detach().to("cpu")) if pin else tensor.detach().to("cpu")
                _point_at(tensor, host)
                pairs.append((tensor, host))
            self._tensors.append(pairs)
        self.active: int | None = None
        self.swaps = 0
        self._hooks = [e.register_forward_pre_hook(functools.partial(self._before, i)) for i, e in enumerate(experts)]

    def _before(self, index: int, module: torch.nn.Module, args: Any) -> None:
        self.activate(index)

    def activate(self, index: int) -> None:
        """Put expert `index` on the device (and the other one back in CPU memory)."""
        if self.active == index:
            return
        if self.active is not None:
            for tensor, host in self._tensors[self.active]:
                _point_at(tensor, host)
        for tensor, host in self._tensors[index]:
            if is_quantized(tensor):  # torchao's `to` takes no non_blocking
                torch.utils.swap_tensors(tensor, host.to(self.device))
            else:
                tensor.data = host.to(self.device, non_blocking=True)
        self.active = index
        self.swaps += 1

    def remove(self) -> None:
        for hook in self._hooks:
            hook.remove()


def _pinned(tensor: torch.Tensor) -> torch.Tensor:
    """A page-locked copy for fast, asynchronous uploads; the tensor itself when its type cannot be pinned (some
    torchao tensor subclasses): its uploads are then synchronous, which costs time, not correctness."""
    try:
        return tensor.pin_memory()
    except (NotImplementedError, RuntimeError) as exc:
        logger.debug("expert swap: %s stays unpinned (%s)", type(tensor).__name__, exc)
        return tensor


def _point_at(tensor: torch.Tensor, source: torch.Tensor) -> None:
    """Make `tensor` use `source`'s memory without copying and without changing `source`."""
    if is_quantized(tensor):
        for name in inner_tensor_names(source):
            setattr(tensor, name, getattr(source, name))
    else:
        tensor.data = source


def apply_strategy(pipe: WanPipeline, strategy: Strategy, device: str) -> ExpertSwap | None:
    """Place the pipeline's weights as the strategy says; returns the expert swapper when it uses one."""
    experts = [m for m in (pipe.transformer, pipe.transformer_2) if m is not None]
    onload = torch.device(device)
    swap: ExpertSwap | None = None
    if strategy.name == "resident":
        pipe.to(device)
    elif strategy.name == "expert_swap":
        pipe.text_encoder.to(device)
        pipe.vae.to(device)
        swap = ExpertSwap(experts, device)
    elif strategy.name == "model_offload":
        pipe.enable_model_cpu_offload(device=device)
    else:  # group_offload: layer by layer with CUDA-stream prefetch; the VAE is small and stays
        streams = onload.type == "cuda"
        for expert in experts:
            expert.enable_group_offload(
                onload_device=onload, offload_type="leaf_level", use_stream=streams, record_stream=streams
            )
        apply_group_offloading(
            pipe.text_encoder,
            onload_device=onload,
            offload_type="block_level",
            num_blocks_per_group=4,
            use_stream=streams,
        )
        pipe.vae.to(device)
    if strategy.vae_tiling:
        pipe.vae.enable_tiling()
    return swap
