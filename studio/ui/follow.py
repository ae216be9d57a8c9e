"""Following a tab's jobs: every Generate click queues a job and a handler follows it to its end.

Several of a tab's jobs may be followed at once; so that their lines do not take turns on the one status box, only
the job the tab is waiting on first (its oldest unfinished one) writes there, and says how many more of the tab's
jobs are queued behind it. Each job still delivers its own video when it ends.
"""

from __future__ import annotations

from studio.services.job_view import JobView
from studio.services.studio import Studio
from studio.ui.status import describe_job


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
