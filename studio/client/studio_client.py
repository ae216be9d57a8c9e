"""StudioClient: every call of the REST API, from jobs and videos to comparisons, grids and share links.

The connection and its error are in studio.client.connection, the job value in studio.client.job, the Models page's
calls in studio.client.models; `from studio.client import StudioClient` is the public way in.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from studio.client.connection import StudioError
from studio.client.job import Job
from studio.client.models import ModelCalls


class StudioClient(ModelCalls):
    """Submit, follow, cancel and download jobs. Authenticate with `token` (Bearer) or `auth=(user, password)`."""

    # -- jobs ----------------------------------------------------------------------------------

    def submit(
        self,
        prompt: str,
        *,
        image: str | os.PathLike[str] | None = None,
        end_image: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> Job:
        """Queue a video; returns at once. Options: negative_prompt, seed, aspect_ratio ("image": the start image's
        shape), quality, width, height, duration_s, steps, guidance, guidance_2, flow_shift, speed ("quality", "fast" or
        "balanced"), cache and cache_threshold (balanced only), image_fit, start_frame ({"video_id", "time_s"}),
        callback_url. `image` / `end_image`: local image files, uploaded first."""
        if image is not None:
            options["start_image"] = self.upload_image(image)["id"]
        if end_image is not None:
            options["end_image"] = self.upload_image(end_image)["id"]
        return Job.from_json(self._call("POST", "/api/v1/jobs", json={"prompt": prompt, **options}))

    def upload_image(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Upload a PNG, JPEG or WebP; answers its id (pass it as start_image or end_image), width and height."""
        with Path(path).open("rb") as file:
            return self._call("POST", "/api/v1/images", files={"file": ("image", file, "application/octet-stream")})

    def frame(self, video_id: int, time_s: float | None = None) -> dict[str, Any]:
        """Store the frame of a video shown at `time_s` (None: its last) as an image; answers it like upload_image."""
        body = {"video_id": video_id, "time_s": time_s}
        return self._call("POST", f"/api/v1/videos/{video_id}/frames", json=body)

    def continue_video(self, video_id: int) -> Job:
        """Queue the next clip of a video (its last frame, the same recipe, seed + 1)."""
        return Job.from_json(self._call("POST", f"/api/v1/videos/{video_id}/continue"))

    def join(self, video_id: int) -> dict[str, Any]:
        """One MP4 of the chain of continuations ending at `video_id`, saved to the history; answers the video."""
        return self._call("POST", f"/api/v1/videos/{video_id}/join")

    def get(self, job_id: int) -> Job:
        return Job.from_json(self._call("GET", f"/api/v1/jobs/{job_id}"))

    def jobs(self, *, status: str | None = None, limit: int = 50, offset: int = 0) -> list[Job]:
        params: dict[str, Any] = {"limit": limit, "offset": offset, **({"status": status} if status else {})}
        return [Job.from_json(item) for item in self._call("GET", "/api/v1/jobs", params=params)]

    def cancel(self, job_id: int) -> Job:
        return Job.from_json(self._call("POST", f"/api/v1/jobs/{job_id}/cancel"))

    def retry(self, job_id: int) -> Job:
        return Job.from_json(self._call("POST", f"/api/v1/jobs/{job_id}/retry"))

    def events(self, job_id: int) -> Iterator[Job]:
        """The job each time it changes (Server-Sent Events), ending with its final state."""
        with self._http.stream("GET", f"/api/v1/jobs/{job_id}/events", timeout=None) as response:
            if response.status_code >= 400:
                response.read()
                raise StudioError(response.status_code, response.json().get("detail"))
            for line in response.iter_lines():
                if line.startswith("data: "):
                    yield Job.from_json(json.loads(line.removeprefix("data: ")))

    def wait(
        self, job_id: int, *, on_progress: Callable[[Job], None] | None = None, timeout: float | None = None
    ) -> Job:
        """Follow a job until it ends; `on_progress` sees every change. Raises TimeoutError after `timeout` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        job = self.get(job_id)
        while not job.is_final:
            for job in self.events(job_id):
                if on_progress is not None:
                    on_progress(job)
                if job.is_final or (deadline is not None and time.monotonic() > deadline):
                    break
            if deadline is not None and time.monotonic() > deadline and not job.is_final:
                raise TimeoutError(f"job {job_id} still {job.status} after {timeout} s")
        return job

    def generate(self, prompt: str, **options: Any) -> Job:
        """Submit and wait: the final job (check `.status`; `.video_id` is set on success)."""
        return self.wait(self.submit(prompt, **options).id)

    # -- videos --------------------------------------------------------------------------------

    def videos(
        self,
        *,
        q: str = "",
        model: str | None = None,
        favorite: bool | None = None,
        limit: int = 24,
        offset: int = 0,
        image: bool | None = None,
    ) -> dict[str, Any]:
        """The history; `image=True`: image-to-video clips only."""
        params: dict[str, Any] = {"q": q, "limit": limit, "offset": offset}
        params.update({k: v for k, v in (("model", model), ("favorite", favorite), ("image", image)) if v is not None})
        return self._call("GET", "/api/v1/videos", params=params)

    def video(self, video_id: int) -> dict[str, Any]:
        return self._call("GET", f"/api/v1/videos/{video_id}")

    def delete(self, video_id: int) -> None:
        self._call("DELETE", f"/api/v1/videos/{video_id}")

    def download(self, video_id: int, path: str | os.PathLike[str]) -> Path:
        """Save the MP4 to `path` (written to a temp file first, so a failed download leaves nothing)."""
        target = Path(path)
        partial = target.with_name(f".{target.name}.part")
        with self._http.stream("GET", f"/api/v1/videos/{video_id}/file") as response:
            if response.status_code >= 400:
                response.read()
                raise StudioError(response.status_code, response.json().get("detail"))
            with partial.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
        partial.replace(target)
        return target

    def favorite(self, video_id: int, favorite: bool = True) -> dict[str, Any]:
        """Mark a video a favorite (or not, with `favorite=False`); the video."""
        return self._call("POST" if favorite else "DELETE", f"/api/v1/videos/{video_id}/favorite")

    def trim(self, video_id: int, start_s: float, end_s: float, *, lossless: bool = False) -> dict[str, Any]:
        """Save the part between two points (seconds) as a new video linked to this one; the new video."""
        body = {"start_s": start_s, "end_s": end_s, "lossless": lossless}
        return self._call("POST", f"/api/v1/videos/{video_id}/trims", json=body)

    # -- comparisons ---------------------------------------------------------------------------

    def compare(
        self, prompt: str, *, seeds: list[int] | None = None, count: int = 4, start: int | None = None, **options: Any
    ) -> dict[str, Any]:
        """Queue one recipe under several seeds as one group: the given `seeds`, `count` consecutive ones from
        `start`, or `count` random ones; returns at once with the group (its `group_id`, `seeds` and `jobs`).
        Options as `submit`, except seed and callback_url."""
        mode = "list" if seeds else ("consecutive" if start is not None else "random")
        body: dict[str, Any] = {"prompt": prompt, "mode": mode, "count": count, **options}
        if seeds:
            body["seeds"] = seeds
        if start is not None:
            body["start"] = start
        return self._call("POST", "/api/v1/comparisons", json=body)

    def comparison(self, group_id: str) -> dict[str, Any]:
        """A group: its jobs, the videos made so far (in seed order) and its exports."""
        return self._call("GET", f"/api/v1/comparisons/{group_id}")

    def export_comparison(self, group_id: str) -> dict[str, Any]:
        """Tile a finished group's videos, labelled with their seeds, into one MP4 in the history; that video."""
        return self._call("POST", f"/api/v1/comparisons/{group_id}/export")

    def export_videos(self, video_ids: list[int]) -> dict[str, Any]:
        """Tile 2–4 history videos into one labelled MP4 in the history; that video."""
        return self._call("POST", "/api/v1/exports", json={"video_ids": video_ids})

    # -- X/Y comparisons (grids) ---------------------------------------------------------------

    def compare_grid(
        self, prompt: str, *, x: dict[str, Any], y: dict[str, Any] | None = None, **options: Any
    ) -> dict[str, Any]:
        """Queue a grid: the shared recipe (options as `submit`, `seed` shared) with an X axis and optionally a Y axis,
        each `{"kind": "guidance", "values": [3, 5]}` (seeds may give `mode`, `count`, `start`); at most 16 cells,
        all or none. Returns at once with the grid (`group_id`, `cells`)."""
        body: dict[str, Any] = {"prompt": prompt, "x": x, **options}
        if y is not None:
            body["y"] = y
        return self._call("POST", "/api/v1/grids", json=body)  # type: ignore[no-any-return]

    def grid(self, group_id: str) -> dict[str, Any]:
        """A comparison as a grid: rows, columns and each cell's values, latest job and video."""
        return self._call("GET", f"/api/v1/grids/{group_id}")  # type: ignore[no-any-return]

    def grid_of_video(self, video_id: int) -> dict[str, Any]:
        """The comparison a video belongs to, as a grid."""
        return self._call("GET", f"/api/v1/videos/{video_id}/grid")  # type: ignore[no-any-return]

    def refine(self, video_id: int, *, x: dict[str, Any], y: dict[str, Any] | None = None) -> dict[str, Any]:
        """A new comparison from one cell's video (its recipe and seed shared) sweeping `x` (and `y`)."""
        body: dict[str, Any] = {"video_id": video_id, "x": x, **({"y": y} if y is not None else {})}
        return self._call("POST", "/api/v1/grids/refine", json=body)  # type: ignore[no-any-return]

    def balanced_vs_quality(self, video_id: int) -> dict[str, Any]:
        """The video's recipe and seed at Quality and at Balanced, as a two-cell comparison (History's button)."""
        return self.refine(video_id, x={"kind": "speed", "values": ["quality", "balanced"]})

    def export_grid(self, group_id: str) -> dict[str, Any]:
        """One MP4 of a finished grid, each tile labelled with its values, saved to the history; that video."""
        return self._call("POST", f"/api/v1/grids/{group_id}/export")  # type: ignore[no-any-return]

    def rebuild_grid(self, recipe: dict[str, Any]) -> dict[str, Any]:
        """Queue again the comparison an exported grid's recipe records (see `read_recipe`)."""
        return self._call("POST", "/api/v1/grids/rebuild", json={"recipe": recipe})  # type: ignore[no-any-return]

    # -- recipes and share links ---------------------------------------------------------------

    def read_recipe(self, path: str | os.PathLike[str]) -> dict[str, Any] | None:
        """The recipe an MP4 made by a studio carries (None for other MP4s): upload it and read it back."""
        with Path(path).open("rb") as file:
            answer = self._call("POST", "/api/v1/recipes/read", files={"file": ("video.mp4", file, "video/mp4")})
        return answer["recipe"]

    def share(self, video_id: int, *, expires_in_s: int | None = None, confirm_flagged: bool = False) -> dict[str, Any]:
        """A new share link to a video (`url`, `token`); it lasts until revoked unless `expires_in_s` is given."""
        body = {"expires_in_s": expires_in_s, "confirm_flagged": confirm_flagged}
        return self._call("POST", f"/api/v1/videos/{video_id}/shares", json=body)

    def shares(self, video_id: int) -> list[dict[str, Any]]:
        """Every share link of a video, newest first, revoked and expired ones included."""
        return self._call("GET", f"/api/v1/videos/{video_id}/shares")

    def revoke_share(self, token: str) -> None:
        self._call("DELETE", f"/api/v1/shares/{token}")

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")  # type: ignore[no-any-return]
