"""FP8 transformers (torchao): half the memory of bf16 experts and FP8 tensor-core matrix products.

`--quantize fp8` quantizes the linear layers of every transformer block of each expert with torchao's
`Float8DynamicActivationFloat8WeightConfig` at per-row granularity: weights are stored as float8 e4m3 with one
scale per output row, activations are scaled per row on the fly, and the products run on FP8 tensor cores
(`torch._scaled_mm`). That needs compute capability 8.9 or newer (Ada, Hopper, Blackwell). The embeddings, the
output projection, the norms and the fast LoRA's own small layers stay in bf16: they are a sliver of the compute
and the most sensitive to rounding.

FP8 changes the picture slightly (it rounds the weights), so it is a setting, off by default, and every video
records the precision that made it (`GenerationResult.precision`, stored with its recipe).

Why `quantize_` after loading rather than diffusers' `TorchAoConfig` at `from_pretrained`: the fast LoRA is loaded
first, as a PEFT adapter around each linear layer, and only its base layer is quantized, so the adapter's own
matrices stay bf16 and PEFT never has to wrap a torchao tensor; and quantizing block by block on the GPU is fast
without ever holding a whole bf16 expert there. Two torchao behaviours shape studio.engine.offload: a torchao tensor's
data lives in inner tensors (`qdata`, `scale`) that `param.data = …` does not reach, and its `.to()` takes no
`non_blocking` (both found by tests/engine/test_quantize.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, get_args

import torch

if TYPE_CHECKING:
    from diffusers.pipelines.wan.pipeline_wan import WanPipeline

logger = logging.getLogger(__name__)

QuantizeSetting = Literal["off", "fp8"]
QUANTIZE_SETTINGS: tuple[QuantizeSetting, ...] = get_args(QuantizeSetting)
FP8_MIN_CAPABILITY = (8, 9)  # float8 tensor cores: Ada (8.9), Hopper (9.0) and newer
FP8_ALIGNMENT = 16  # torch._scaled_mm needs both matrix sides divisible by 16
LORA_LAYERS = ("lora_A", "lora_B", "lora_embedding_A", "lora_embedding_B")  # PEFT's adapter layers: kept in bf16


def check_quantize_setting(value: str | None) -> QuantizeSetting:
    """The quantize setting, checked at start-up.

    Raises:
        ValueError: not one of QUANTIZE_SETTINGS.
    """
    text = (value or "off").strip().lower()
    for setting in QUANTIZE_SETTINGS:
        if text == setting:
            return setting
    raise ValueError(f"quantize: {value!r} is not one of {', '.join(QUANTIZE_SETTINGS)}")


def fp8_unavailable(device: str) -> str | None:
    """Why FP8 cannot run on `device`, or None when it can (torchao installed, a CUDA GPU of capability ≥ 8.9)."""
    if not device.startswith("cuda") or not torch.cuda.is_available():
        return f"FP8 needs a CUDA GPU and this runs on {device}"
    major, minor = torch.cuda.get_device_capability(torch.device(device))
    if (major, minor) < FP8_MIN_CAPABILITY:
        name = torch.cuda.get_device_name(torch.device(device))
        return (
            f"FP8 needs compute capability 8.9 or newer (Ada, Hopper, Blackwell); {name} has {major}.{minor}: "
            "use quantize off"
        )
    try:
        import torchao.quantization  # noqa: F401
    except ImportError:
        return "FP8 needs the torchao package: pip install torchao"
    return None


def fp8_config() -> Any:
    """torchao's FP8 dynamic-activation, FP8-weight config with per-row scales (the accurate FP8 recipe)."""
    from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, PerRow

    return Float8DynamicActivationFloat8WeightConfig(granularity=PerRow())


def block_linear_filter(alignment: int = FP8_ALIGNMENT) -> Callable[[torch.nn.Module, str], bool]:
    """torchao `filter_fn`: linear layers of the repeated blocks, both sides divisible by `alignment`, not LoRA's."""

    def keep(module: torch.nn.Module, name: str) -> bool:
        if not isinstance(module, torch.nn.Linear):
            return False
        parts = name.split(".")
        if any(part in LORA_LAYERS for part in parts):
            return False
        return module.in_features % alignment == 0 and module.out_features % alignment == 0

    return keep


def quantize_experts(
    pipe: WanPipeline, config: Any, *, work_device: str = "cpu", alignment: int = FP8_ALIGNMENT
) -> int:
    """Quantize the block linear layers of each expert in place, one block at a time on `work_device`.

    Block by block, so a 24 GB card can quantize a 14B expert that it could not hold in bf16; each block goes back
    to the CPU afterwards and the memory strategy places the weights later. Run it after the fast LoRA is loaded:
    PEFT wraps each linear layer, the wrapped base layer is quantized and the adapter's layers stay bf16.

    Returns the number of linear layers quantized.
    """
    from torchao.quantization import quantize_

    keep = block_linear_filter(alignment)
    count = 0
    experts = [m for m in (pipe.transformer, pipe.transformer_2) if m is not None]
    for expert in experts:
        for block in expert.blocks:
            count += sum(1 for name, module in block.named_modules() if keep(module, name))
            block.to(work_device)
            quantize_(block, config, filter_fn=keep)
            block.to("cpu")
    logger.info("quantized %d linear layers of %d expert(s) with %s", count, len(experts), type(config).__name__)
    return count


def is_quantized(tensor: torch.Tensor) -> bool:
    """Whether `tensor` is a torchao tensor subclass (its data lives in inner tensors, not in `.data`)."""
    try:
        from torchao.utils import TorchAOBaseTensor
    except ImportError:
        return False
    return isinstance(tensor, TorchAOBaseTensor)


def inner_tensor_names(tensor: torch.Tensor) -> list[str]:
    """Names of a torchao tensor's inner data tensors (e.g. qdata, scale)."""
    cls = type(tensor)
    names = list(getattr(cls, "tensor_data_names", []))
    names += [n for n in getattr(cls, "optional_tensor_data_names", []) if getattr(tensor, n, None) is not None]
    return names
