"""Image-to-video on the resident pipeline's own weights: a WanImageToVideoPipeline built from its components.

The resident pipeline is a (caching) WanPipeline for every model, loaded by the same `from_pretrained` (an I2V-A14B
folder loads into it too: the classes share their components). An image job wraps those very modules in diffusers'
WanImageToVideoPipeline, so nothing is loaded or copied twice. What the image does depends on the layout:

- TI2V-5B (`expand_timesteps`): the start image is encoded into the first latent frame, which is held fixed while
  the others are denoised (its per-token timestep is 0); the transformer is the text-to-video one.
- I2V-A14B: the transformers read 36 channels, the noisy latents next to a frame mask and the encoded start (and
  end) image; the two experts hand over at the boundary (0.900), as in text-to-video.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import PIL.Image
import torch
from diffusers.pipelines.wan.pipeline_wan import WanPipeline
from diffusers.pipelines.wan.pipeline_wan_i2v import WanImageToVideoPipeline

from studio.domain.recipe import Recipe
from studio.engine.contract import ImageSource


class SharedTextImageToVideo(WanImageToVideoPipeline):
    """WanImageToVideoPipeline whose prompts are encoded by the resident pipeline (and its text-encoding cache)."""

    text_pipe: WanPipeline | None = None

    def encode_prompt(self, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor | None]:  # type: ignore[override]
        if self.text_pipe is None:
            return super().encode_prompt(*args, **kwargs)  # type: ignore[no-any-return]
        return self.text_pipe.encode_prompt(*args, **kwargs)  # type: ignore[no-any-return]


def image_pipeline(pipe: WanPipeline) -> SharedTextImageToVideo:
    """An image-to-video pipeline over `pipe`'s modules (the same objects: no memory is added), with its scheduler."""
    view = SharedTextImageToVideo(
        tokenizer=pipe.tokenizer,
        text_encoder=pipe.text_encoder,
        vae=pipe.vae,
        scheduler=pipe.scheduler,
        transformer=pipe.transformer,
        transformer_2=pipe.transformer_2,
        boundary_ratio=pipe.config["boundary_ratio"],
        expand_timesteps=pipe.config["expand_timesteps"],
    )
    view.text_pipe = pipe
    view.set_progress_bar_config(disable=True)
    return view


def needs_image(pipe: WanPipeline) -> bool:
    """Whether the transformers read image channels (I2V-A14B): such a pipeline cannot run from text alone."""
    expert = pipe.transformer if pipe.transformer is not None else pipe.transformer_2
    return bool(expert.config.in_channels != expert.config.out_channels)


def image_kwargs(recipe: Recipe, source: ImageSource | None) -> dict[str, Any]:
    """The pipeline arguments for a recipe's images, fitted to its size; {} for a text-to-video recipe.

    Raises:
        ValueError: the recipe has images but this pipeline was given nowhere to read them from.
    """
    if recipe.start_image is None:
        return {}
    if source is None:
        raise ValueError("start_image: this pipeline has no image store to read the start image from")
    fit = recipe.image_fit or "crop"

    def load(key: str) -> PIL.Image.Image:
        pixels = np.asarray(source(key, recipe.width, recipe.height, fit), dtype=np.uint8)
        return PIL.Image.fromarray(pixels[..., :3])

    kwargs: dict[str, Any] = {"image": load(recipe.start_image)}
    if recipe.end_image is not None:
        kwargs["last_image"] = load(recipe.end_image)
    return kwargs
