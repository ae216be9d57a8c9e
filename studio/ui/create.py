"""The Create page: prompt and settings in, a queued job out, followed step by step until the video plays.

Handlers never do GPU work: they validate, enqueue and then follow the job's row. This module holds the page's
layout, its input checks and its wiring; Generate and its following are in `follow`, a stored recipe's values in
`recipe_form`, the Start/End images in `start_image_panel`, the controls' following of the model in `model_follow`.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from studio.domain import geometry
from studio.domain.errors import Refused
from studio.domain.preset_types import Preset
from studio.services.studio import Studio
from studio.services.worker import ModelState
from studio.ui import controls
from studio.ui.errors import note, on_controls, warn
from studio.ui.follow import JobFollow
from studio.ui.model_follow import ModelFollow, duration_choice
from studio.ui.models_page import ModelPicker
from studio.ui.recipe_form import (
    CACHE_CHOICES,
    FIELD_LABELS,
    INPUT_FIELDS,
    cache_threshold_info,
    first_problem,
    recipe_fill,
    request_from,
    speed_choices,
    speed_defaults,
    speed_info,
)
from studio.ui.start_image_panel import IMAGE_FIELDS, IMAGE_LABELS, StartImagePanel
from studio.ui.status import model_status, preview_banner, resolved_summary


class CreatePage:
    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self.jobs = JobFollow(self)  # Generate, Cancel and the Recent videos strip

    @property
    def preset(self) -> Preset:
        """The model new jobs are made for: the person may pick another one (Models page, the picker below)."""
        return self.studio.preset

    # -- handlers --------------------------------------------------------------------------------

    def validate(self, *values: Any) -> list[dict[str, Any]]:
        """Runs before Generate: a bad field gets its message on its own control, and nothing is queued."""
        return on_controls(self._problem(*values), (*INPUT_FIELDS, *IMAGE_FIELDS)[: len(values)])

    def warn_if_invalid(self, *values: Any) -> None:
        """Runs beside the validator on Generate: the same refusal as a toast near the button, naming the field (the
        control may be out of sight, and Gradio drops the validator's messages of a fresh page's first click)."""
        if (problem := self._problem(*values)) is not None:
            warn(problem, FIELD_LABELS | IMAGE_LABELS)

    def _problem(self, *values: Any) -> Any:
        """The first field to fix: the settings (INPUT_FIELDS), then the start/end images after them, if given."""
        base, extra = values[: len(INPUT_FIELDS)], values[len(INPUT_FIELDS) :]
        if not extra:
            return first_problem(self.preset, *base)
        try:
            request = request_from(self.preset, *base)
        except Refused as exc:
            return exc
        return self.image_panel.problem(request, *extra)

    def summarize(
        self, aspect_ratio: str, quality: str, duration_s: float, start: str | None = None, follow: bool = False
    ) -> str:
        """The size, frames and fps the current choices resolve to (the start image's, when the ratio follows it)."""
        if start and follow:
            return self.image_panel.summary(start, aspect_ratio, quality, duration_s)
        return resolved_summary(self.preset, aspect_ratio, quality, duration_s)

    def token_note(self, prompt: str) -> str:
        try:
            tokens = self.studio.count_tokens(prompt or "")
        except Refused as exc:
            return note(exc)
        limit = self.preset.max_prompt_tokens
        if tokens is None or tokens <= limit:
            return ""
        return f"⚠️ This prompt is {tokens} tokens; the model reads the first {limit} and the rest will be cut."

    def model_status(self) -> str:
        return model_status(self.studio)

    def poll_model(self) -> tuple[str, gr.Timer]:
        """Refresh the model line until loading has ended, then stop polling."""
        pending = self.studio.model_state is ModelState.LOADING or self.studio.public_link == "opening…"
        # A studio that can switch models keeps its model line live: a switch may start from any tab or the API
        pending = pending or (self.studio.worker is not None and self.studio.worker.pipeline_for is not None)
        return self.model_status(), gr.Timer(active=pending)

    def show_cache(self, speed: str) -> dict[str, Any]:
        """The step cache's controls show for Balanced only (they count for nothing at the other speeds)."""
        return gr.update(visible=speed == "Balanced")

    def toggle_seed(self, random_seed: bool) -> dict[str, Any]:
        return gr.update(interactive=not random_seed)

    def fill_from_recipe(self, recipe: dict[str, Any], seed: str = "same") -> dict[Any, Any]:
        """Updates that put a stored recipe back on this page; `seed` is "same", "new" (random) or "plus1"."""
        by_field = dict(zip(INPUT_FIELDS, self.inputs, strict=True))
        return {by_field[field]: value for field, value in recipe_fill(recipe, self.preset, seed).items()}

    @property
    def fill_targets(self) -> list[Any]:
        """Every component `fill_from_recipe` may update (the outputs of events that call it)."""
        return list(self.inputs)

    # -- layout ----------------------------------------------------------------------------------

    def build(self, demo: gr.Blocks) -> None:
        preset = self.preset
        # Shown for a tiny model; follows the model new jobs use (ModelFollow), as the controls below do
        self.banner = gr.HTML(preview_banner(preset) if preset.tiny else "", visible=preset.tiny)
        # A callable: each page load renders the state of now, not the "Loading…" of when the UI was built.
        self.model_box = gr.Markdown(self.model_status, elem_id="model-status")
        self.model_picker = ModelPicker(self.studio)  # issue 14: pick among the downloaded models
        self.model_picker.build()
        # Quarter-second steps inside the model's range; each snaps to 4k+1 frames (shown below the box).
        low, high, default_s = duration_choice(preset)
        with gr.Row():
            with gr.Column(scale=1):
                self.prompt_box = gr.Textbox(
                    label="Prompt", lines=3, placeholder="A corgi surfing a wave at sunset…", elem_id="prompt-box"
                )
                self.token_box = gr.Markdown("", elem_id="token-note")
                # Generate right under the prompt: on the first screen of a laptop and of a phone, settings below.
                with gr.Row():
                    self.generate_btn = gr.Button("Generate", variant="primary", elem_id="generate-btn")
                    self.cancel_btn = gr.Button("Cancel", variant="stop")
                self.negative_box = gr.Textbox(label="Negative prompt", value=preset.negative_prompt, lines=2)
                with gr.Row():
                    # Text, not gr.Number: what was typed (letters, 20 digits) reaches the validator unrounded, and
                    # the refusal shows on the box (Gradio's number box shows no validation message).
                    self.seed_box = gr.Textbox(label="Seed", value="0", max_lines=1, interactive=False, elem_id="seed")
                    self.random_seed_box = gr.Checkbox(label="Random seed", value=True)
                self.aspect_radio = gr.Radio(label="Aspect ratio", choices=list(geometry.ASPECT_RATIOS), value="16:9")
                # A number box, not a slider: Gradio's slider silently clamps a typed 30 or 0 to its ends, and a box
                # without bounds lets the validator say what is allowed. The range is in its info line.
                self.duration_box = gr.Number(
                    label="Duration (s)", value=default_s, step=0.25, info=f"{low:g}–{high:g} s", elem_id="duration"
                )
                self.quality_radio = gr.Radio(
                    label="Quality", choices=list(preset.qualities), value=preset.default_quality
                )
                self.speed_radio = gr.Radio(
                    label="Speed",
                    choices=speed_choices(preset),
                    value="Quality",
                    visible=len(speed_choices(preset)) > 1,
                    info=speed_info(preset),
                    elem_id="speed",
                )
                with gr.Row(visible=False) as self.cache_row:  # Balanced only (see show_cache)
                    self.cache_radio = gr.Radio(
                        label="Step cache",
                        choices=CACHE_CHOICES,
                        value=preset.step_cache.method if preset.step_cache is not None else None,
                        elem_id="step-cache",
                    )
                    # Text, not gr.Number: an empty box (the model's default) stays empty instead of becoming 0
                    self.cache_threshold_box = gr.Textbox(
                        label="Step cache threshold",
                        value="",
                        max_lines=1,
                        info=cache_threshold_info(),
                        elem_id="step-cache-threshold",
                    )
                self.summary_box = gr.Markdown(
                    self.summarize("16:9", preset.default_quality, default_s),
                    elem_id="resolved-size",
                )
                self.image_panel = StartImagePanel(self.studio)
                self.image_panel.build()
                with gr.Accordion("Advanced", open=False):
                    self.steps_slider = controls.slider(
                        label="Steps", minimum=1, maximum=100, step=1, value=preset.steps
                    )
                    self.guidance_slider = controls.slider(
                        label="Guidance", minimum=0, maximum=20, step=0.5, value=preset.guidance
                    )
                    self.guidance_2_slider = controls.slider(
                        label="Guidance (low noise)",
                        minimum=0,
                        maximum=20,
                        step=0.5,
                        value=preset.guidance_2 or preset.guidance,
                        visible=preset.layout_info.two_experts,
                    )
                    self.flow_shift_slider = controls.slider(
                        label="Flow shift", minimum=0.5, maximum=30, step=0.5, value=preset.flow_shift
                    )
            with gr.Column(scale=1):
                self.result_video = gr.Video(
                    label="Result", autoplay=True, loop=True, interactive=False, height=360, elem_id="result-video"
                )
                self.status_box = gr.Textbox(label="Status", interactive=False, elem_id="job-status")
                self.used_seed = gr.Number(
                    label="Seed used",
                    value=None,
                    visible=False,  # until the first run: Gradio's number box shows "no value" as 0
                    precision=0,
                    interactive=False,
                    elem_id="used-seed",
                )
        self.recent_gallery = gr.Gallery(
            label="Recent videos", columns=6, height=240, fit_columns=False, elem_id="recent-strip"
        )
        self.job_state = gr.State(None)
        self.follow = ModelFollow(self)  # issue 14: the controls follow the model new jobs use
        self._wire(demo)

    # -- wiring ----------------------------------------------------------------------------------

    def _wire(self, demo: gr.Blocks) -> None:
        self.inputs = inputs = [
            self.prompt_box,
            self.negative_box,
            self.seed_box,
            self.random_seed_box,
            self.aspect_radio,
            self.duration_box,
            self.quality_radio,
            self.steps_slider,
            self.guidance_slider,
            self.guidance_2_slider,
            self.flow_shift_slider,
            self.speed_radio,
            self.cache_radio,
            self.cache_threshold_box,
        ]
        inputs = [*inputs, *self.image_panel.inputs]  # image to video: after the settings (IMAGE_FIELDS)
        self.image_panel.wire(self.aspect_radio, self.quality_radio)
        self.generate_btn.click(  # before the validator: the refusal as a toast too (a validator cannot toast)
            self.warn_if_invalid, inputs=inputs, outputs=None, show_progress="hidden", api_visibility="private"
        )
        self.generate_btn.click(
            self.jobs.generate,
            inputs=inputs,
            outputs=[self.job_state, self.used_seed, self.result_video, self.status_box, self.recent_gallery],
            validator=self.validate,
            show_progress_on=[self.result_video],  # the status line and the seed stay readable
            api_name="generate",
            concurrency_limit=None,  # following a job is cheap polling; the worker serializes the GPU work
            trigger_mode="multiple",  # each click queues a job, even while an earlier one runs
        )
        self.cancel_btn.click(self.jobs.cancel, inputs=self.job_state, outputs=self.status_box, api_name="cancel")
        panel = self.image_panel
        gr.on(
            [
                self.aspect_radio.change,
                self.quality_radio.change,
                self.duration_box.change,
                panel.start_box.change,
                panel.follow_box.change,
            ],
            self.summarize,
            inputs=[self.aspect_radio, self.quality_radio, self.duration_box, panel.start_box, panel.follow_box],
            outputs=self.summary_box,
            api_visibility="private",
            queue=False,
        )
        self.speed_radio.input(
            lambda speed: speed_defaults(self.preset, speed),
            inputs=self.speed_radio,
            outputs=[self.steps_slider, self.guidance_slider, self.guidance_2_slider, self.flow_shift_slider],
            api_visibility="private",
            queue=False,
        )
        self.speed_radio.change(  # .change: a reused Balanced recipe shows its cache too
            self.show_cache, inputs=self.speed_radio, outputs=self.cache_row, api_visibility="private", queue=False
        )
        self.random_seed_box.change(
            self.toggle_seed, inputs=self.random_seed_box, outputs=self.seed_box, api_visibility="private", queue=False
        )
        self.prompt_box.blur(self.token_note, inputs=self.prompt_box, outputs=self.token_box, api_visibility="private")
        demo.load(self.jobs.recent, outputs=self.recent_gallery, api_visibility="private")
        model_timer = gr.Timer(1.0)
        model_timer.tick(self.poll_model, outputs=[self.model_box, model_timer], api_visibility="private", queue=False)
        self.follow.wire(demo, model_timer)
