"""The Models page: every model with what it needs and whether it is downloaded; Download, Delete from cache (asks
first), Use this model. Also the Create page's picker among the downloaded models.

Handlers read the Studio facade only; a timer refreshes the table and the selected model's progress every second.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from gradio.events import Dependency

from studio.domain.downloads import format_bytes
from studio.domain.errors import Refused
from studio.services.models import ModelEntry
from studio.services.studio import Studio
from studio.ui.errors import note
from studio.ui.text import plain

COLUMNS = ["Model", "What it is", "GPU memory", "Downloaded", "State"]
REFRESH_S = 1.0


def _downloaded(entry: ModelEntry) -> str:
    if not entry.downloadable:
        return "built here" if entry.tiny else "local folder"
    total = format_bytes(entry.total_bytes) if entry.total_bytes is not None else "size not known yet"
    if entry.downloaded:
        return f"yes · {format_bytes(entry.size_bytes)}"
    return f"no · {format_bytes(entry.size_bytes)} / {total}"


def _state(entry: ModelEntry) -> str:
    words = []
    if entry.loaded:
        words.append("loaded")
    if entry.next:
        words.append("new jobs use it")
    if entry.transfer is not None and entry.transfer.phase in ("checking", "downloading"):
        fraction = entry.transfer.fraction
        words.append(f"downloading {fraction * 100:.0f} %" if fraction is not None else "checking")
    elif entry.transfer is not None and entry.transfer.phase == "failed":
        words.append("download failed")
    return ", ".join(words) or "—"


def model_row(entry: ModelEntry) -> list[str]:
    gpu = f"≥ {entry.gpu_gb:g} GB" if entry.gpu_gb else "none (CPU preview)"
    return [entry.key, entry.label, gpu, _downloaded(entry), _state(entry)]


def describe_entry(entry: ModelEntry) -> str:
    """The selected model in words: where its weights come from, its progress or its last failure."""
    lines = [f"{entry.label} — {entry.source}"]
    state = [words for on, words in ((entry.loaded, "loaded now"), (entry.next, "new jobs use it")) if on]
    if state:
        lines.append(f"This model is {' and '.join(state)}.")
    if entry.transfer is not None and (entry.transfer.phase != "ready" or not entry.loaded):
        lines.append(entry.transfer.describe())
    if entry.downloadable and not entry.downloaded and entry.missing and entry.transfer is None:
        lines.append(f"Not downloaded yet: {len(entry.missing)} file(s) missing.")
    return "\n".join(lines)


class ModelsPage:
    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    # -- handlers --------------------------------------------------------------------------------

    def rows(self) -> list[list[str]]:
        return [model_row(entry) for entry in self.studio.model_list()]

    def details(self, key: str | None) -> str:
        if not key:
            return "Select a model in the table (or the list) to see its progress and actions."
        try:
            return describe_entry(self.studio.model_entry(key))
        except Refused as exc:
            return f"⚠️ {exc.message}"

    def refresh(self, key: str | None) -> tuple[list[list[str]], str]:
        return self.rows(), self.details(key)

    def select(self, event: gr.SelectData) -> str | None:
        row = event.row_value or []
        return str(row[0]) if row else None

    def pick_changed(self, key: str | None) -> tuple[str, str]:
        return self.details(key), ""  # the last action's answer was about the model picked before

    # Each action answers in the message line, which the 1 s refresh of the table and details leaves alone.
    def download(self, key: str | None) -> tuple[list[list[str]], str, str]:
        return self._act(key, self.studio.download_model, "Download started")

    def use(self, key: str | None) -> tuple[list[list[str]], str, str]:
        return self._act(key, self.studio.use_model, "New jobs use this model; it loads now (queued jobs keep theirs)")

    def ask_delete(self, key: str | None) -> dict[str, Any]:
        return gr.update(visible=bool(key))

    def delete(self, key: str | None) -> tuple[list[list[str]], str, str, dict[str, Any]]:
        rows, details, message = self._act(key, self.studio.delete_model, "Deleted from the cache")
        return rows, details, message, gr.update(visible=False)

    def _act(self, key: str | None, action: Any, done: str) -> tuple[list[list[str]], str, str]:
        """The table, the details and the action's answer (the table and details as the refresh shows them)."""
        if not key:
            return self.rows(), self.details(key), "Select a model first."
        try:
            entry = action(key)
        except Refused as exc:
            return self.rows(), self.details(key), f"⚠️ {plain(exc.message)}"  # it may quote what the client sent
        return self.rows(), describe_entry(entry), plain(f"{done}: {entry.key}.")

    # -- layout and wiring ------------------------------------------------------------------------

    def build(self) -> None:
        gr.Markdown(
            "Every model the studio can run. **Download** fetches a hub model into the Hugging Face cache "
            "(HF_HOME) with progress; **Use this model** loads it in place of the resident one — queued jobs keep "
            "their own model and run when it is loaded.",
            elem_id="models-intro",
        )
        self.table = gr.Dataframe(
            value=self.rows,
            headers=COLUMNS,
            interactive=False,
            elem_id="models-table",
            wrap=True,
            column_widths=["20%", "32%", "14%", "20%", "14%"],
        )
        keys = [preset.key for preset in self.studio.models.presets()]
        self.pick = gr.Dropdown(keys, value=self.studio.preset.key, label="Model", elem_id="models-pick")
        self.details_box = gr.Textbox(label="Details", lines=3, interactive=False, elem_id="models-details")
        with gr.Row():
            self.download_btn = gr.Button("Download", elem_id="models-download")
            self.use_btn = gr.Button("Use this model", variant="primary", elem_id="models-use")
            self.delete_btn = gr.Button("Delete from cache", variant="stop", elem_id="models-delete")
            self.confirm_btn = gr.Button("Confirm delete", variant="stop", visible=False, elem_id="models-confirm")
        self.message = gr.Markdown(elem_id="models-message")
        self.timer = gr.Timer(REFRESH_S)

    def wire(self) -> None:
        live, out = [self.table, self.details_box], [self.table, self.details_box, self.message]
        self.table.select(self.select, outputs=self.pick, api_visibility="private")
        self.pick.change(
            self.pick_changed, inputs=self.pick, outputs=[self.details_box, self.message], api_visibility="private"
        )
        self.timer.tick(self.refresh, inputs=self.pick, outputs=live, api_visibility="private", queue=False)
        self.download_btn.click(self.download, inputs=self.pick, outputs=out, api_visibility="private")
        self.use_btn.click(self.use, inputs=self.pick, outputs=out, api_visibility="private")
        self.delete_btn.click(self.ask_delete, inputs=self.pick, outputs=self.confirm_btn, api_visibility="private")
        self.confirm_btn.click(
            self.delete, inputs=self.pick, outputs=[*out, self.confirm_btn], api_visibility="private"
        )


class ModelPicker:
    """The Create page's "Model for new jobs": the downloaded models; picking one switches (the model line says)."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    def choices(self) -> dict[str, Any]:
        """The downloaded models, the one new jobs use chosen."""
        return gr.update(choices=self.offered()["choices"], value=self.studio.preset.key)

    def offered(self) -> dict[str, Any]:
        """The downloaded models, the value left alone (on focus: setting it would answer with a pick of it)."""
        keys = self.studio.models.downloaded_keys()
        if self.studio.preset.key not in keys:
            keys.insert(0, self.studio.preset.key)
        return gr.update(choices=keys)

    def pick(self, key: str | None) -> Any:
        """Switch to `key`; the note says so. Nothing when it is the model already: the dropdown also answers an
        update from the page with an `input` event, which must not wipe the note of the person's own pick."""
        if not key or key == self.studio.preset.key:
            return gr.skip()
        try:
            entry = self.studio.use_model(key)
        except Refused as exc:
            return note(exc)
        return f"New jobs use {entry.key}; it loads in place of the resident model."

    def build(self) -> None:
        with gr.Row():
            self.dropdown = gr.Dropdown(
                [self.studio.preset.key],
                value=self.studio.preset.key,
                label="Model for new jobs",
                elem_id="model-pick",
                interactive=self.studio.worker is not None and self.studio.worker.pipeline_for is not None,
                scale=1,
            )
            self.note_box = gr.Markdown("", elem_id="model-pick-note")

    def wire(self, demo: gr.Blocks) -> Dependency:
        """Returns the pick event, for the Create page to follow the switch (studio.ui.model_follow)."""
        demo.load(self.choices, outputs=self.dropdown, api_visibility="private")
        self.dropdown.focus(self.offered, outputs=self.dropdown, api_visibility="private", queue=False)
        return self.dropdown.input(self.pick, inputs=self.dropdown, outputs=self.note_box, api_visibility="private")
