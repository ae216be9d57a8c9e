"""Import an MP4: the recipe a video made by the studio carries goes back into the Create page.

Only files Gradio received as uploads are read (it checks that too, studio.web); the recipe's text is shown as typed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from studio.domain.errors import Refused
from studio.services.studio import Studio
from studio.ui.create import CreatePage
from studio.ui.errors import note
from studio.ui.text import plain


class ImportPanel:
    def __init__(self, studio: Studio, create: CreatePage, tabs: gr.Tabs) -> None:
        self.studio = studio
        self.create = create
        self.tabs = tabs

    # -- handlers --------------------------------------------------------------------------------

    def import_file(self, upload: str | None) -> dict[Any, Any]:
        """Read the recipe of an uploaded MP4 back into the Create page. Only files in Gradio's upload folder."""
        if not upload:
            return {self.import_note: ""}
        path = Path(upload).resolve()
        if not path.is_relative_to(Path(get_upload_folder()).resolve()) or not path.is_file():
            return {self.import_note: "⚠️ Upload the MP4 with the box above."}
        try:
            recipe = self.studio.videos.read_recipe(path)
        except Refused as exc:
            return {self.import_note: note(exc)}
        if recipe is None:
            return {self.import_note: "No recipe found: this MP4 was not made by Wan Studio."}
        try:
            filled = self.create.fill_from_recipe(recipe)
        except (TypeError, ValueError):
            return {self.import_note: "⚠️ This MP4's recipe has values the Create page cannot use."}
        read = (
            f"Recipe read (seed {plain(recipe.get('seed'))}, model {plain(recipe.get('model'))}): "
            "the Create page is filled in."
        )
        images, said = self.create.image_panel.restore(recipe)  # image to video: by id, when this studio has them
        read += said
        grid = isinstance(recipe.get("comparison"), dict) and isinstance(recipe["comparison"].get("x"), dict)
        if grid:  # an exported X/Y comparison: its axes can be queued again (ui.compare_grid wires the button)
            read += " It is an X/Y comparison: **Rebuild comparison** queues its grid again."
        return {
            **filled,
            **images,
            self.import_note: read,
            self.tabs: gr.Tabs(selected="create"),
            self.recipe_state: recipe if grid else None,
            self.rebuild_btn: gr.update(visible=grid),
        }

    # -- layout and wiring -----------------------------------------------------------------------

    def build(self) -> None:
        with gr.Accordion("Import an MP4", open=False):
            self.import_box = gr.File(label="Drop an MP4 made by this studio", file_types=[".mp4"], type="filepath")
            self.import_note = gr.Markdown("", elem_id="import-note")
            self.rebuild_btn = gr.Button("Rebuild comparison", size="sm", visible=False)
            self.recipe_state = gr.State(None)

    def wire(self) -> None:
        self.import_box.upload(
            self.import_file,
            inputs=self.import_box,
            outputs=[
                *self.create.fill_targets,
                *self.create.image_panel.restore_targets,
                self.tabs,
                self.import_note,
                self.recipe_state,
                self.rebuild_btn,
            ],
            api_visibility="private",
        )
