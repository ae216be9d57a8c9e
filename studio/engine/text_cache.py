"""A WanPipeline that caches text encodings (a seed comparison or a retry encodes its prompt once)."""

from __future__ import annotations

from collections import OrderedDict

import torch

# From their modules: mypy resolves `from diffusers import WanPipeline` to diffusers' dummy placeholder class.
from diffusers.pipelines.wan.pipeline_wan import WanPipeline

ENCODE_CACHE_SIZE = 8  # text encodings kept (per text: a prompt and Wan's negative prompt are two entries)


class CachingWanPipeline(WanPipeline):
    """A WanPipeline that remembers its last text encodings, so a seed comparison or a retry encodes its prompt once.

    Entries are per text (the prompt and the negative prompt separately, keyed with the token limit, device and
    dtype), so Wan's long default negative prompt is encoded once for every job. The text encoder never changes
    while the pipeline is loaded (the fast LoRA goes into the transformers only), so an entry never goes stale.
    """

    encode_cache_size: int = ENCODE_CACHE_SIZE

    @property
    def text_cache(self) -> OrderedDict[tuple[str, int, str, str], torch.Tensor]:
        cache = self.__dict__.get("_text_cache")
        if cache is None:
            cache = self.__dict__["_text_cache"] = OrderedDict()
        return cache

    def encode_prompt(  # type: ignore[override]  # same parameters as WanPipeline.encode_prompt
        self,
        prompt: str | list[str],
        negative_prompt: str | list[str] | None = None,
        do_classifier_free_guidance: bool = True,
        num_videos_per_prompt: int = 1,
        prompt_embeds: torch.Tensor | None = None,
        negative_prompt_embeds: torch.Tensor | None = None,
        max_sequence_length: int = 226,
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        device = device or self._execution_device
        # Single prompts only (what the studio sends); batches and precomputed embeddings go through unchanged.
        if self.encode_cache_size > 0 and num_videos_per_prompt == 1 and isinstance(prompt, str):
            if prompt_embeds is None:
                prompt_embeds = self._encode_cached(prompt, max_sequence_length, device, dtype)
            if do_classifier_free_guidance and negative_prompt_embeds is None and not isinstance(negative_prompt, list):
                negative_prompt_embeds = self._encode_cached(negative_prompt or "", max_sequence_length, device, dtype)
        return super().encode_prompt(  # type: ignore[no-any-return]
            prompt,
            negative_prompt,
            do_classifier_free_guidance,
            num_videos_per_prompt,
            prompt_embeds,
            negative_prompt_embeds,
            max_sequence_length,
            device,
            dtype,
        )

    def _encode_cached(
        self, text: str, max_sequence_length: int, device: torch.device, dtype: torch.dtype | None
    ) -> torch.Tensor:
        key = (text, max_sequence_length, str(device), str(dtype))
        cache = self.text_cache
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        embeds, _ = super().encode_prompt(
            text,
            do_classifier_free_guidance=False,
            max_sequence_length=max_sequence_length,
            device=device,
            dtype=dtype,
        )
        cache[key] = embeds
        while len(cache) > self.encode_cache_size:
            cache.popitem(last=False)
        return embeds  # type: ignore[no-any-return]
