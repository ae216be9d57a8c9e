"""The Create page follows the model the next job will run (issue 14): its qualities, duration range, speeds, sampling
defaults, Start/End image and the preview banner change with "Use this model" or the picker.

The studio's `preset` is the truth (Studio.use_model sets it); the page remembers the model it shows in a per-tab
state and changes its controls only when the two differ, so a tick of the model line never undoes what a person typed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import gradio as gr

from studio.domain import geometry
from studio.domain.preset_types import Preset
from studio.ui.recipe_form import speed_choices, speed_defaults, speed_info
from studio.ui.status import preview_banner, resolved_summary

if TYPE_CHECKING:
    from studio.ui.create import CreatePage


def duration_choice(preset: Preset) -> tuple[float, float, float]:
    """The shortest, longest and default durations the page offers: quarter seconds inside the model's range."""
    low, high = geometry.duration_range(preset)
    default_s = round(geometry.seconds_for(preset, preset.default_frames) * 4) / 4
    return math.ceil(low * 4) / 4, math.floor(high * 4) / 4, default_s


def banner_update(preset: Preset) -> dict[str, Any]:
    """The preview banner: shown for a tiny (random-weight) model only."""
    return gr.update(value=preview_banner(preset) if preset.tiny else "", visible=preset.tiny)


class ModelFollow:
    """Wires the Create page to the studio's model for new jobs; `follow` is the handler."""

    def __init__(self, page: CreatePage) -> None:
        self.page = page
        self.shown = gr.State(page.preset.key)  # the model this tab's controls were made for

    def follow(
        self,
        shown: str | None,
        aspect_ratio: str,
        quality: str,
        duration_s: float | None,
        speed: str,
        start: str | None,
        fit: str,
        follow_image: bool,
        picked: str | None = None,
    ) -> dict[Any, Any]:
        """Updates that fit the controls to the model new jobs use; none while the page already shows it.

        The person's quality, duration and speed stay where the new model allows them; steps, guidance and shift
        take the new model's defaults for that speed; images go where the new model takes none.
        """
        page, panel = self.page, self.page.image_panel
        preset = page.preset
        if preset.key == shown:
            return gr.skip()  # every output as it is
        low, high, default_s = duration_choice(preset)
        quality = quality if quality in preset.qualities else preset.default_quality
        duration = duration_s if duration_s is not None and low <= duration_s <= high else default_s
        speeds = speed_choices(preset)
        speed = speed if speed in speeds else "Quality"
        steps, guidance, guidance_2, flow_shift = speed_defaults(preset, speed)
        start = start if preset.image_input else None
        update: dict[Any, Any] = {
            self.shown: preset.key,
            page.banner: banner_update(preset),
            page.quality_radio: gr.update(choices=list(preset.qualities), value=quality),
            page.duration_box: gr.update(value=duration, info=f"{low:g}–{high:g} s"),
            page.speed_radio: gr.update(choices=speeds, value=speed, visible=len(speeds) > 1, info=speed_info(preset)),
            page.steps_slider: steps,
            page.guidance_slider: guidance,
            page.guidance_2_slider: gr.update(value=guidance_2, visible=preset.layout_info.two_experts),
            page.flow_shift_slider: flow_shift,
            page.summary_box: resolved_summary(preset, aspect_ratio, quality, duration),
            panel.accordion: gr.update(visible=preset.image_input, open=preset.image_required or bool(start)),
            panel.end_box: gr.update(visible=preset.end_image),
            panel.fit_note_box: panel.fit_note(start, fit, follow_image, aspect_ratio, quality),
        }
        if picked != preset.key:  # only then: Gradio's dropdown answers an update with an `input` event (a pick)
            update[page.model_picker.dropdown] = page.model_picker.choices()
            update[page.model_picker.note_box] = ""  # switched elsewhere: the note of an earlier pick is stale
        if not preset.image_input:  # a hidden image would still go with Generate, and be refused
            update[panel.start_box] = None
        if not preset.end_image:
            update[panel.end_box] = gr.update(value=None, visible=False)
        return update

    # -- wiring ----------------------------------------------------------------------------------

    def wire(self, demo: gr.Blocks, model_timer: gr.Timer) -> None:
        """On page load, on each refresh of the model line (a switch from the Models page, another tab or the API),
        and right after the picker switched."""
        page, panel = self.page, self.page.image_panel
        inputs = [
            self.shown,
            page.aspect_radio,
            page.quality_radio,
            page.duration_box,
            page.speed_radio,
            panel.start_box,
            panel.fit_radio,
            panel.follow_box,
            page.model_picker.dropdown,
        ]
        outputs = [
            self.shown,
            page.banner,
            page.model_picker.dropdown,
            page.model_picker.note_box,
            page.quality_radio,
            page.duration_box,
            page.speed_radio,
            page.steps_slider,
            page.guidance_slider,
            page.guidance_2_slider,
            page.flow_shift_slider,
            page.summary_box,
            panel.accordion,
            panel.start_box,
            panel.end_box,
            panel.fit_note_box,
        ]
        gr.on(
            [demo.load, model_timer.tick],
            self.follow,
            inputs=inputs,
            outputs=outputs,
            api_visibility="private",
            queue=False,
            show_progress="hidden",
        )
        picked = page.model_picker.wire(demo)
        picked.then(
            self.follow, inputs=inputs, outputs=outputs, api_visibility="private", queue=False, show_progress="hidden"
        )
