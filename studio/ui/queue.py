"""The queue panel: every recent job with its status, and Retry / Cancel for the one you select.

Jobs interrupted by a restart show up here, ready to retry with the same recipe and seed.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from studio.domain.errors import Refused
from studio.services.job_view import JobView
from studio.services.studio import Studio
from studio.store.rows import JobStatus
from studio.ui.errors import note
from studio.ui.status import owner_of

COLUMNS = ["Job", "Status", "Progress", "Seed", "Size", "Prompt"]
SHOWN = 20
REFRESH_S = 2.0


def job_row(view: JobView) -> list[Any]:
    recipe = view.recipe
    if view.status is JobStatus.QUEUED:
        progress = f"#{view.queue_position} in queue"
    elif view.status is JobStatus.RUNNING:
        progress = f"step {view.step} / {view.total_steps}"
    else:
        progress = f"{view.step} / {view.total_steps} steps"
    size = f"{recipe.width}×{recipe.height} · {recipe.num_frames} f"
    return [view.id, view.status.value, progress, recipe.seed, size, recipe.prompt[:80]]


class QueuePanel:
    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    # -- handlers --------------------------------------------------------------------------------

    def rows(self) -> list[list[Any]]:
        return [job_row(view) for view in self.studio.list_jobs(limit=SHOWN)]

    def notice(self) -> str:
        interrupted = self.studio.interrupted_at_start
        if not interrupted:
            return ""
        ids = ", ".join(f"#{i}" for i in interrupted)
        return f"⚠️ The last shutdown interrupted job {ids}. Select a job below and press **Retry job** to run it again."

    def select(self, event: gr.SelectData) -> int | None:
        row = event.row_value or []
        return int(row[0]) if row else None

    def retry(self, job_id: int | None, request: gr.Request | None = None) -> tuple[str, list[list[Any]]]:
        if job_id is None:
            return "Select a job in the table first.", self.rows()
        try:
            view = self.studio.retry(job_id, owner=owner_of(request))
        except Refused as exc:
            return note(exc), self.rows()
        return f"Job {job_id} queued again as job {view.id} (seed {view.recipe.seed}).", self.rows()

    def cancel(self, job_id: int | None) -> tuple[str, list[list[Any]]]:
        if job_id is None:
            return "Select a job in the table first.", self.rows()
        try:
            view = self.studio.cancel(job_id)
        except Refused as exc:
            return note(exc), self.rows()
        if view.status is JobStatus.RUNNING:
            return f"Canceling job {job_id} at its next step…", self.rows()
        return f"Job {job_id} is {view.status.value}.", self.rows()

    # -- layout ----------------------------------------------------------------------------------

    def build(self, demo: gr.Blocks) -> None:
        with gr.Accordion("Queue and recent jobs", open=False) as self.accordion:
            self.notice_box = gr.Markdown(self.notice, elem_id="queue-notice")  # read at each page load
            self.jobs_table = gr.Dataframe(
                headers=COLUMNS, value=self.rows, interactive=False, elem_id="jobs-table", wrap=True
            )
            with gr.Row():
                self.selected_box = gr.Number(label="Selected job", value=None, precision=0, interactive=False)
                self.retry_btn = gr.Button("Retry job")
                self.cancel_job_btn = gr.Button("Cancel job")
            self.queue_message = gr.Markdown("", elem_id="queue-message")
        self._wire(demo)

    # -- wiring ----------------------------------------------------------------------------------

    def _wire(self, demo: gr.Blocks) -> None:
        self.jobs_table.select(self.select, outputs=self.selected_box, api_visibility="private")
        self.retry_btn.click(
            self.retry, inputs=self.selected_box, outputs=[self.queue_message, self.jobs_table], api_name="retry"
        )
        self.cancel_job_btn.click(
            self.cancel,
            inputs=self.selected_box,
            outputs=[self.queue_message, self.jobs_table],
            api_visibility="private",
        )
        # Open after a restart that interrupted jobs, so the notice and Retry are in view.
        demo.load(lambda: gr.Accordion(open=bool(self.studio.interrupted_at_start)), outputs=self.accordion)
        refresh = gr.Timer(REFRESH_S)
        refresh.tick(self.rows, outputs=self.jobs_table, api_visibility="private", queue=False)
