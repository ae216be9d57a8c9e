"""The Create page's Start image (and End image): upload or paste, or a frame from History; how it fills the frame.

Shown only for models that take an image. Without an image the text-to-video path runs as before. The uploads are
files in Gradio's upload folder (Gradio refuses any other path); they are decoded with limits and stored once by
content hash when Generate is pressed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from studio.domain import geometry, start_image
from studio.domain.errors import InvalidInput
from studio.domain.preset_types import Preset
from studio.domain.recipe import RecipeRequest, build_recipe
from studio.services.studio import Studio
from studio.ui.status import resolved_summary

IMAGE_FIELDS = ("start_image", "end_image", "image_fit", "follow_image")  # after INPUT_FIELDS, in this order
IMAGE_LABELS = {
    "start_image": "Start image",
    "end_image": "End image",
    "image_fit": "Crop or pad",
    "follow_image": "Aspect ratio follows the image",
}
_PLACEHOLDER = "0" * 64  # stands for an image that is checked but not stored yet (validation only)


def _uploaded(path: str, field: str, stored: Path) -> Path:
    """`path` when it is a file in Gradio's upload folder, or one of the studio's own stored images (`stored`: what
    Use this frame puts in the box). Gradio checks that too; a page only ever sends those.

    Raises:
        InvalidInput: any other path, naming `field`.
    """
    resolved = Path(path).resolve()
    inside = any(resolved.is_relative_to(folder.resolve()) for folder in (Path(get_upload_folder()), stored))
    if not inside or not resolved.is_file():
        raise InvalidInput(field, "upload or paste the image with the box (PNG, JPEG or WebP)")
    return resolved


class StartImagePanel:
    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self._stored = studio.images.folder  # the studio's own images (Use this frame)

    @property
    def preset(self) -> Preset:
        """The model new jobs are made for (it may change: Use this model, the Create page's picker)."""
        return self.studio.preset

    # -- handlers --------------------------------------------------------------------------------

    def _size(self, path: str | None, field: str) -> tuple[int, int] | None:
        """The width and height of an upload, decoded with the upload limits; None without one."""
        if not path:
            return None
        return self.studio.images.size_of(_uploaded(path, field, self._stored), field=field)

    def with_images(
        self, request: RecipeRequest, start: str | None, end: str | None, fit: str | None, follow: bool
    ) -> RecipeRequest:
        """`request` with the images stored and named, and the size following the start image when asked."""
        if not start:
            if end:
                raise InvalidInput("end_image", "needs a start image too (the clip goes from the start to the end)")
            return request
        stored = self.studio.images.upload_file(_uploaded(start, "start_image", self._stored), field="start_image")
        last = (
            self.studio.images.upload_file(_uploaded(end, "end_image", self._stored), field="end_image").id
            if end
            else None
        )
        aspect = start_image.FOLLOW_IMAGE if follow else request.aspect_ratio
        return dataclasses.replace(
            request, start_image=stored.id, end_image=last, image_fit=fit or "crop", aspect_ratio=aspect
        )

    def problem(
        self, request: RecipeRequest, start: str | None, end: str | None, fit: str | None, follow: bool
    ) -> InvalidInput | None:
        """The first thing to fix in the page's values with these images, without storing anything."""
        try:
            size = self._size(start, "start_image")
            self._size(end, "end_image")
            if size is not None:
                request = dataclasses.replace(
                    request,
                    start_image=_PLACEHOLDER,
                    end_image=_PLACEHOLDER if end else None,
                    image_fit=fit or "crop",
                )
                if follow:
                    width, height = start_image.size_for_image(self.preset, request.quality, *size)
                    request = dataclasses.replace(request, width=width, height=height)
            elif end:
                raise InvalidInput("end_image", "needs a start image too (the clip goes from the start to the end)")
            build_recipe(request, self.preset, seed_source=lambda: 0)
        except InvalidInput as exc:
            return exc
        return None

    def fit_note(self, start: str | None, fit: str, follow: bool, aspect_ratio: str, quality: str) -> str:
        """What the start image becomes, shown before Generate: the size and what is cropped or padded."""
        try:
            size = self._size(start, "start_image")
            if size is None:
                return "" if not self.preset.image_required else "This model starts from an image: add one."
            if follow:
                width, height = start_image.size_for_image(self.preset, quality, *size)
            else:
                width, height = geometry.size_for(self.preset, aspect_ratio, quality)
        except InvalidInput as exc:
            return f"⚠️ {IMAGE_LABELS.get(exc.field or '', exc.field)}: {exc.message}"
        chosen: start_image.ImageFit = "pad" if fit == "pad" else "crop"
        return start_image.describe_fit(size[0], size[1], width, height, chosen)

    def summary(self, start: str | None, aspect_ratio: str, quality: str, duration_s: float) -> str:
        """The size line under Aspect ratio when the ratio follows the start image: the size the image gives."""
        try:
            size = self._size(start, "start_image")
        except InvalidInput:
            size = None  # the fit note says what is wrong with the image
        if size is None:
            return resolved_summary(self.preset, aspect_ratio, quality, duration_s)
        width, height = start_image.size_for_image(self.preset, quality, *size)
        frames = geometry.frames_for(self.preset, duration_s)
        return f"{geometry.describe(width, height, frames, self.preset.fps)} · follows the image"

    def restore(self, recipe: dict[str, Any]) -> tuple[dict[Any, Any], str]:
        """Updates that put a recipe's start and end images back on the page when this studio has them (by id),
        and a note saying so; nothing for a text-to-video recipe."""
        wanted = {box: recipe.get(key) for box, key in ((self.start_box, "start_image"), (self.end_box, "end_image"))}
        if not wanted[self.start_box] or not self.preset.image_input:
            return {}, ""
        update: dict[Any, Any] = {self.accordion: gr.Accordion(open=True)}
        missing = []
        for box, image_id in wanted.items():
            path = self.studio.images.path(image_id) if isinstance(image_id, str) and len(image_id) == 64 else None
            if path is not None and path.is_file():
                update[box] = str(path)
            elif image_id:
                missing.append("start" if box is self.start_box else "end")
        if recipe.get("image_fit") in start_image.IMAGE_FITS:
            update[self.fit_radio] = recipe["image_fit"]
        update[self.follow_box] = recipe.get("aspect_ratio") == start_image.FOLLOW_IMAGE
        if missing:
            return update, f" Its {' and '.join(missing)} image is not in this studio: add it again."
        return update, " Its start image is restored."

    @property
    def restore_targets(self) -> list[Any]:
        return [self.accordion, self.start_box, self.end_box, self.fit_radio, self.follow_box]

    # -- layout and wiring ------------------------------------------------------------------------

    def build(self) -> None:
        preset = self.preset
        with gr.Accordion(
            "Start image", open=preset.image_required, visible=preset.image_input, elem_id="start-image-panel"
        ) as self.accordion:
            with gr.Row():
                self.start_box = gr.Image(
                    label="Start image",
                    type="filepath",
                    sources=["upload", "clipboard"],
                    height=180,
                    elem_id="start-image",
                )
                self.end_box = gr.Image(
                    label="End image",
                    type="filepath",
                    sources=["upload", "clipboard"],
                    height=180,
                    visible=preset.end_image,
                    elem_id="end-image",
                )
            with gr.Row():
                self.follow_box = gr.Checkbox(label="Aspect ratio follows the image", value=True)
                self.fit_radio = gr.Radio(label="Crop or pad", choices=list(start_image.IMAGE_FITS), value="crop")
            self.fit_note_box = gr.Markdown("", elem_id="image-fit-note")

    @property
    def inputs(self) -> list[Any]:
        """The Generate inputs this panel adds (IMAGE_FIELDS order)."""
        return [self.start_box, self.end_box, self.fit_radio, self.follow_box]

    def wire(self, aspect_radio: gr.Radio, quality_radio: gr.Radio) -> None:
        gr.on(
            [
                self.start_box.change,
                self.fit_radio.change,
                self.follow_box.change,
                aspect_radio.change,
                quality_radio.change,
            ],
            self.fit_note,
            inputs=[self.start_box, self.fit_radio, self.follow_box, aspect_radio, quality_radio],
            outputs=self.fit_note_box,
            api_visibility="private",
        )
