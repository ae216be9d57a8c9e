"""A finished generation into the history: the MP4 and poster written, scored, and saved with the job's end as one unit.

The files are encoded into the local `incoming/` folder first, then published to the media store inside the
transaction that adds the row and ends the job; if that transaction rolls back, what was published is removed again
(studio.store.library.add), so there is never a row without its files in the store.
"""

from __future__ import annotations

import time

from studio.domain.recipe import Recipe
from studio.engine.contract import GenerationResult
from studio.media import content_check as content
from studio.media import mp4
from studio.media.storage import MediaStore
from studio.store import jobs, library
from studio.store.database import Database
from studio.store.rows import Video


def save_video(
    *,
    db: Database,
    media: MediaStore,
    job_id: int,
    recipe: Recipe,
    result: GenerationResult,
    load_s: float | None,
    content_check: content.ContentChecker | None,
) -> None:
    """Encode the frames, score them, then add the video row and close the job as succeeded in one transaction."""
    frames = result.frames
    started = time.perf_counter()
    incoming = library.incoming_dir(media.local_dir)
    video_tmp, poster_tmp = incoming / f"job-{job_id}.mp4", incoming / f"job-{job_id}.jpg"
    try:
        # What the MP4 and the row carry: the recipe, plus the precision of the weights that made it
        stored = recipe.to_dict() | ({"precision": result.precision} if result.precision else {})
        if result.forwards_total is not None:  # Balanced: what the step cache skipped, shown next to the timings
            stored |= {"forwards_run": result.forwards_run, "forwards_total": result.forwards_total}
        if result.attention:  # an 8-bit attention kernel (SageAttention) changes the picture: recorded like FP8
            stored["attention"] = result.attention
        mp4.write_mp4(frames, video_tmp, fps=recipe.fps, recipe=stored)
        mp4.write_poster(frames, poster_tmp)
        timings = {
            "load_s": load_s or 0.0,
            "text_encode_s": result.text_encode_s,
            "denoise_s": result.denoise_s,
            "decode_s": result.decode_s,
            "encode_s": time.perf_counter() - started,
        }
        if result.peak_memory_gb is not None:
            timings["peak_memory_gb"] = result.peak_memory_gb
        # Scored before the row exists, so a flagged video is never seen unflagged; never raises (None: no score).
        verdict = content_check.check_frames(frames) if content_check else None
        with db.write() as session:
            # A continuation links to the video it continues, while that video still exists
            parent = recipe.continues if recipe.continues and session.get(Video, recipe.continues) else None
            video = library.add(
                session=session,
                store=media,
                recipe=recipe,
                video_file=video_tmp,
                poster_file=poster_tmp,
                job_id=job_id,
                timings=timings,
                group_id=jobs.get(session=session, job_id=job_id).group_id,
                stored_recipe=stored,
                parent_id=parent,
            )
            content.apply(video, verdict)
            jobs.finish(session=session, job_id=job_id, timings=timings)
    finally:
        video_tmp.unlink(missing_ok=True)
        poster_tmp.unlink(missing_ok=True)
