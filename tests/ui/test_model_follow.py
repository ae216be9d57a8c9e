"""The Create page follows the model new jobs use (issue 14): its handlers called directly on a real Studio whose
worker can switch (to fake pipelines), after the picker or the Models page switched."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pytest

from studio.services.studio import Studio
from studio.ui.create import CreatePage
from studio.ui.models_page import ModelsPage
from tests.fakes import FakePipeline
from tests.helpers import wait_for


@pytest.fixture
def page(studio: Studio) -> CreatePage:
    """The Create page of a tiny-1.3b studio that switches models the way the single-process studio does (the
    worker builds the next model's pipeline; here a fake one, so no weights are built)."""
    assert studio.worker is not None
    studio.worker.pipeline_for = lambda key: FakePipeline()
    create = CreatePage(studio)
    with gr.Blocks() as demo:
        create.build(demo)
    return create


def follow(page: CreatePage, shown: str, **values: Any) -> dict[Any, Any]:
    """The follow handler with the page's values (the defaults of a fresh tiny-1.3b page, changed by `values`)."""
    settings = {
        "aspect_ratio": "16:9",
        "quality": "preview",
        "duration_s": 2.0,
        "speed": "Quality",
        "start": None,
        "fit": "crop",
        "follow_image": True,
        "picked": None,  # the picker's value
    } | values
    return page.follow.follow(shown, *settings.values())


def test_picking_an_image_model_changes_the_range_the_image_box_the_shift_and_the_banner(page: CreatePage) -> None:
    assert page.model_picker.pick("tiny-ti2v-5b").startswith("New jobs use tiny-ti2v-5b")
    update = follow(page, "tiny-1.3b", picked="tiny-ti2v-5b")
    panel = page.image_panel

    assert update[page.follow.shown] == "tiny-ti2v-5b"
    assert update[page.duration_box]["info"] == "0.25–5 s"  # 24 fps: shorter clips than the 1.3B's 0.5 s
    assert update[page.flow_shift_slider] == 5.0  # the TI2V-5B's own shift (the 1.3B's is 3.0)
    assert "24 fps" in update[page.summary_box]
    assert update[panel.accordion]["visible"] is True  # it takes a start image
    assert update[panel.end_box]["visible"] is False  # but no end image
    assert "ti2v-5b layout" in update[page.banner]["value"] and update[page.banner]["visible"] is True
    assert page.model_picker.dropdown not in update  # it shows the pick already (an update would pick again)
    assert follow(page, "tiny-1.3b", picked="tiny-1.3b")[page.model_picker.dropdown]["value"] == "tiny-ti2v-5b"
    assert page.model_picker.note_box not in update  # the pick's own note stays
    # Picking it again (the dropdown answers the page's own updates with `input` too) says nothing new
    assert page.model_picker.pick("tiny-ti2v-5b") == gr.skip()
    offered = page.model_picker.offered()  # on focus: the choices only (a value set then would pick it)
    assert "tiny-ti2v-5b" in offered["choices"] and "value" not in offered
    # Once the page shows it, a tick of the model line leaves the controls (and what the person typed) alone
    assert follow(page, "tiny-ti2v-5b") == gr.skip()


def test_the_persons_choices_stay_where_the_new_model_allows_them(page: CreatePage) -> None:
    page.model_picker.pick("tiny-ti2v-5b")
    kept = follow(page, "tiny-1.3b", duration_s=4.0, speed="Balanced")
    assert kept[page.duration_box]["value"] == 4.0 and kept[page.speed_radio]["value"] == "Balanced"

    page.model_picker.pick("tiny-a14b")
    # 0.25 s is too short at 16 fps, and there is no Fast without a LoRA: the new model's default and Quality
    reset = follow(page, "tiny-ti2v-5b", duration_s=0.25, speed="Fast", start="/somewhere/start.png")
    assert reset[page.duration_box] == {"__type__": "update", "value": 2.0, "info": "0.5–5 s"}
    speed = reset[page.speed_radio]
    assert (speed["value"], speed["choices"]) == ("Quality", ["Quality", "Balanced"])
    assert reset[page.guidance_2_slider] == {"__type__": "update", "value": 3.0, "visible": True}  # two experts
    assert reset[page.image_panel.accordion]["visible"] is False
    assert reset[page.image_panel.start_box] is None  # a hidden image would go with Generate, and be refused


def test_a_real_model_hides_the_preview_banner_and_offers_its_own_qualities(page: CreatePage) -> None:
    page.model_picker.pick("wan2.1-t2v-1.3b")
    update = follow(page, "tiny-1.3b")
    assert update[page.banner]["visible"] is False
    assert update[page.quality_radio] == {"__type__": "update", "choices": ["480p"], "value": "480p"}
    assert update[page.steps_slider] == 50 and "832×480" in update[page.summary_box]


def test_a_switch_from_the_models_page_reaches_the_create_page(page: CreatePage, studio: Studio) -> None:
    models = ModelsPage(studio)
    _, details, text = models.use("tiny-i2v-a14b")
    assert "New jobs use this model" in text and "new jobs use it" in details
    assert "new jobs use it" in models.refresh("tiny-i2v-a14b")[1]  # the 1 s refresh keeps saying so
    _, _, refusal, _ = models.delete("tiny-1.3b")  # built here, not downloaded: nothing to delete
    assert refusal.startswith("⚠️ ") and models.pick_changed("tiny-1.3b")[1] == ""
    update = follow(page, "tiny-1.3b", picked="tiny-1.3b")
    assert update[page.model_picker.dropdown]["value"] == "tiny-i2v-a14b"  # the picker shows the switch too
    assert update[page.model_picker.note_box] == ""  # and an earlier pick's note goes
    assert update[page.image_panel.end_box] == {"__type__": "update", "visible": True}  # first and last frame
    assert update[page.image_panel.accordion]["open"] is True  # it needs a start image
    # The image panel checks images against the same model Generate submits for
    assert page.image_panel.preset.key == page.preset.key == "tiny-i2v-a14b"
    assert (
        page.image_panel.fit_note(None, "crop", True, "16:9", "preview") == "This model starts from an image: add one."
    )
    wait_for(lambda: studio.loaded_model == "tiny-i2v-a14b", 30, "the worker's switch")
