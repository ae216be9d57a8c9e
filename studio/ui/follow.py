"""Following a tab's jobs: every Generate click queues a job and a handler follows it to its end.

Several of a tab's jobs may be followed at once; so that their lines do not take turns on the one status box, only
the job the tab is waiting on first (its oldest unfinished one) writes there, and says how many more of the tab's
jobs are queued behind it. Each job still delivers its own video when it ends. `JobFollow` holds the Create page's
Generate, Cancel and Recent videos handlers; following holds no thread, only an awaited wait on the job's row.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import gradio as gr

from studio.domain import naming
from studio.domain.errors import Refused
from studio.services.job_view import JobView
from studio.services.studio import Studio
from studio.store.rows import JobStatus
from studio.ui.errors import toast
from studio.ui.recipe_form import request_from
from studio.ui.status import describe_job, owner_of

if TYPE_CHECKING:
    from studio.ui.create import CreatePage

FOLLOW_TIMEOUT_S = 5.0  # longest a following handler waits for news of its job before it looks again
RECENT_COUNT = 12


class TabJobs:
    """The ids of the jobs one browser tab queued, oldest first (a gr.State: one per tab, shared by its handlers).

    A plain class, not a dataclass: gr.State would try to serialize a dataclass default into the page's config.
    """

    def __init__(self) -> None:
        self.ids: list[int] = []

    def add(self, job_id: int) -> None:
        self.ids.append(job_id)

    def unfinished(self, studio: Studio, view: JobView) -> list[int]:
        """This tab's jobs that have not ended, oldest first (`view` is the freshest news of one of them)."""
        self.ids = [job for job in self.ids if not (view if job == view.id else studio.job(job)).is_final]
        return self.ids


def tab_line(studio: Studio, tab: TabJobs, view: JobView) -> str | None:
    """The status line of `view` when it is the job the tab is waiting on first (or has ended), else None."""
    waiting = tab.unfinished(studio, view)
    if view.is_final:
        return describe_job(view)
    if not waiting or waiting[0] != view.id:
        return None
    behind = len(waiting) - 1
    more = f" · {behind} more of yours queued" if behind else ""
    return describe_job(view) + more


class JobFollow:
    """The Create page's job handlers: Generate queues and follows, Cancel stops, `recent` fills the strip."""

    def __init__(self, page: CreatePage) -> None:
        self.page = page
        self.studio = page.studio
        self.tabs: dict[str, TabJobs] = {}  # the jobs each open tab (Gradio session) follows; gone when all end

    def recent(self) -> list[tuple[str, str]]:
        return [
            (str(self.studio.videos.file(v)), f"#{v.id} · {naming.seed_title(v.seed, v.recipe)} · {v.prompt[:60]}")
            for v in self.studio.videos.recent(RECENT_COUNT)
        ]

    async def generate(
        self,
        prompt: str,
        negative_prompt: str,
        seed: str | float | None,
        random_seed: bool,
        aspect_ratio: str,
        duration_s: float,
        quality: str,
        steps: float,
        guidance: float,
        guidance_2: float | None,
        flow_shift: float,
        speed: str = "Quality",
        cache: str | None = None,
        cache_threshold: str | None = None,
        start_image: str | None = None,
        end_image: str | None = None,
        image_fit: str = "crop",
        follow_image: bool = True,
        request: gr.Request | None = None,
        progress: gr.Progress = gr.Progress(),
    ) -> AsyncIterator[dict[Any, Any]]:
        """Queue a job, then follow it until it ends; the last update carries the video and the seed used.

        Following holds no thread: many tabs, and many clicks of one tab, can wait on their jobs at once.
        """
        page = self.page
        try:
            recipe_request = request_from(
                page.preset,
                prompt,
                negative_prompt,
                seed,
                random_seed,
                aspect_ratio,
                duration_s,
                quality,
                steps,
                guidance,
                guidance_2,
                flow_shift,
                speed,
                cache,
                cache_threshold,
            )
            # Image to video: the images stored by content, the size following the start image when asked
            recipe_request = page.image_panel.with_images(
                recipe_request, start_image, end_image, image_fit, follow_image
            )
            view = self.studio.submit(recipe_request, owner=owner_of(request))
        except Refused as exc:
            raise toast(exc) from exc
        session = request.session_hash if request is not None else None
        tab = self.tabs.setdefault(session, TabJobs()) if session else TabJobs()
        tab.add(view.id)
        yield {
            page.job_state: view.id,
            page.used_seed: gr.update(value=view.recipe.seed, visible=True),  # hidden until the first run
            page.result_video: None,
            page.status_box: tab_line(self.studio, tab, view) or describe_job(view),
        }
        last = ""
        while not view.is_final:
            view = await self.studio.wait_async(view.id, since=view, timeout=FOLLOW_TIMEOUT_S)
            line = tab_line(self.studio, tab, view)
            if line is None:  # an earlier job of this tab is what the person waits on now: its follower reports
                continue
            if view.status is JobStatus.RUNNING and view.total_steps:
                progress((view.step, view.total_steps), desc=line, unit="steps")
            if line != last:
                last = line
                yield {page.status_box: line}
        if session and not tab.ids:
            self.tabs.pop(session, None)
        update: dict[Any, Any] = {
            page.status_box: describe_job(view),
            page.used_seed: view.recipe.seed,  # a plain value: gradio_client's /generate returns the seed as a number
            page.recent_gallery: self.recent(),
        }
        if view.video is not None:
            update[page.result_video] = str(self.studio.videos.file(view.video))
        yield update

    def cancel(self, job_id: int | None) -> str:
        if job_id is None:
            return "Nothing to cancel."
        view = self.studio.cancel(job_id)
        if view.status is JobStatus.RUNNING:
            return f"Canceling job {job_id} at its next step…"
        return describe_job(view)
