"""The fast-mode LoRA: where its file is, and loading it into the expert(s) as a named, unfused adapter.

Why unfused: diffusers' `fuse_lora` adds the LoRA into the weights in place and `unfuse_lora` subtracts it again. In
bf16 that round trip does not give the original weights back (about 15 % of the elements of a 5120 × 5120 weight
change after one fuse + unfuse with a rank-64 LoRA), so a studio that serves both modes from one copy of the
weights would slowly change its quality path. A PEFT adapter that is switched off (`disable_lora`) leaves the
base layers untouched, so the quality path stays bit for bit what it was; the price is the LoRA's two small
matrix products per linear layer in fast mode (rank / width of the layer: ~1–3 % of the FFN and projection FLOPs
at rank 64 on A14B, nothing on the attention core).

Nothing here downloads at import; torch and diffusers are only touched through the pipeline passed in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from studio.domain.preset_types import Preset

if TYPE_CHECKING:
    from diffusers.pipelines.wan.pipeline_wan import WanPipeline

logger = logging.getLogger(__name__)

FAST_ADAPTER = "fast"  # the adapter name in both experts


@dataclass(frozen=True)
class LoraSource:
    """What `load_lora_weights` is given: a local file or folder, or a hub repo with an optional file inside it."""

    location: str
    weight_name: str | None = None


def parse_lora(spec: str) -> LoraSource:
    """Read a LoRA setting: a local .safetensors file or folder, or a hub id `owner/repo[/path/in/repo.safetensors]`.

    Raises:
        ValueError: neither an existing local path nor something shaped like a hub id.
    """
    text = spec.strip()
    path = Path(text).expanduser()
    if path.exists():
        return LoraSource(str(path))
    parts = text.split("/")
    if len(parts) >= 2 and all(parts[:2]) and not text.startswith((".", "/", "~")):
        return LoraSource("/".join(parts[:2]), "/".join(parts[2:]) or None)
    raise ValueError(
        f"fast_lora: {spec!r} is neither a file or folder here nor a Hugging Face hub id "
        "(owner/repo, or owner/repo/path/to/file.safetensors)"
    )


def load_fast_lora(pipe: WanPipeline, preset: Preset) -> int:
    """Load the preset's fast LoRA as the adapter "fast" (both experts on A14B, each with its own scale), disabled.

    Returns the bytes of LoRA weights loaded (for the memory plan).

    Raises:
        ValueError: the preset has no fast LoRA, or the file holds no weights for one of the experts.
        OSError and the loader's own errors: the file is missing or not a Wan LoRA.
    """
    if preset.fast_lora is None:
        raise ValueError(f"{preset.key} has no fast LoRA configured")
    experts = ["transformer"] + (["transformer_2"] if pipe.transformer_2 is not None else [])
    specs = {"transformer": preset.fast_lora, "transformer_2": preset.fast_lora_2 or preset.fast_lora}
    scales = {"transformer": preset.fast_lora_scale, "transformer_2": preset.fast_lora_2_scale}

    # 1. Load each expert's file as the same adapter name (the original Wan/LightX2V key format is converted);
    #    on any failure remove what did load: a half-loaded adapter would be active in quality jobs.
    try:
        for expert in experts:
            source = parse_lora(specs[expert])
            kwargs = {"weight_name": source.weight_name} if source.weight_name else {}
            pipe.load_lora_weights(
                source.location,
                adapter_name=FAST_ADAPTER,
                load_into_transformer_2=expert == "transformer_2",
                **kwargs,
            )
        # 2. A file without keys for an expert loads nothing there (diffusers only warns): refuse it
        present = pipe.get_list_adapters()
        missing = [e for e in experts if FAST_ADAPTER not in present.get(e, [])]
        if missing:
            raise ValueError(f"the fast LoRA has no weights for {', '.join(missing)} of {preset.key}")
    except BaseException:
        for expert, adapters in pipe.get_list_adapters().items():
            if FAST_ADAPTER in adapters:
                getattr(pipe, expert).delete_adapters(FAST_ADAPTER)
        raise

    # 3. Per-expert scales, then off until a fast job asks for it
    pipe.set_adapters([FAST_ADAPTER], adapter_weights=[{e: scales[e] for e in experts}])
    pipe.disable_lora()
    weights = [p for e in experts for name, p in getattr(pipe, e).named_parameters() if f".{FAST_ADAPTER}." in name]
    size = sum(p.numel() * p.element_size() for p in weights)
    logger.info("fast LoRA %s loaded into %s (%.2f GB, unfused)", preset.fast_lora_label, experts, size / 1e9)
    return size
