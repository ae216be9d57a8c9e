"""Continue a video (its last frame starts the next clip, same recipe, seed + 1) and Join a chain into one MP4."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

from studio.domain import start_image
from studio.domain.errors import InvalidInput
from studio.domain.preset_types import Preset
from studio.domain.recipe import MAX_SEED, Recipe, RecipeRequest
from studio.domain.start_image import FOLLOW_IMAGE
from studio.media import content_check, joins, mp4
from studio.media.storage import MediaStore
from studio.services.start_images import StartImages
from studio.services.videos import Videos
from studio.store import library
from studio.store.database import Database
from studio.store.rows import Video

MAX_CHAIN = 64  # clips one Join may put together


def continuation_request(video: Video, preset: Preset, image_id: str) -> RecipeRequest:
    """The recipe of `video` for its next clip: the same settings and seed + 1, starting from `image_id`.

    On another model than the one that made it, the size follows the image (the other model's grid) and only the
    settings that model takes are kept.
    """
    recipe = Recipe.from_dict(video.recipe)
    same_model = recipe.model == preset.key
    return RecipeRequest(
        prompt=recipe.prompt,
        negative_prompt=recipe.negative_prompt,
        seed=(recipe.seed + 1) % (MAX_SEED + 1),
        aspect_ratio=FOLLOW_IMAGE if not same_model else "16:9",
        width=recipe.width if same_model else None,
        height=recipe.height if same_model else None,
        duration_s=recipe.num_frames / recipe.fps,
        steps=recipe.steps,
        guidance=recipe.guidance,
        guidance_2=recipe.guidance_2 if same_model else None,
        flow_shift=recipe.flow_shift,
        speed=recipe.speed if same_model else None,
        start_image=image_id,
        image_fit=recipe.image_fit,
        continues=video.id,
    )


def next_clip_request(*, video_id: int, preset: Preset, videos: Videos, images: StartImages) -> RecipeRequest:
    """The request of a video's next clip on `preset`, its last frame stored as the start image (Studio.continue_video).

    Raises:
        VideoNotFound: no such video. InvalidInput: "start_image" when the model takes no image.
    """
    video = videos.get(video_id)
    start_image.require_image_input(preset)  # before the frame is stored: nothing is kept on a refusal
    image = images.from_video(video_id, None)
    return continuation_request(video, preset, image.id)


def chain(*, db: Database, video_id: int) -> list[Video]:
    """The clips that lead to `video_id` through Continue, oldest first (the first one started the chain).

    Raises:
        VideoNotFound: no such video.
    """
    with db.read() as session:
        video = library.get(session=session, video_id=video_id)
        clips = [video]
        while len(clips) < MAX_CHAIN and clips[-1].recipe.get("continues") and clips[-1].parent_id is not None:
            parent = session.get(Video, clips[-1].parent_id)
            if parent is None:
                break
            clips.append(parent)
    return clips[::-1]


class Joiner:
    """Writes a chain of continuations as one video of the history (kind "join", parent: the last clip)."""

    def __init__(self, *, db: Database, media: MediaStore, content: content_check.ContentChecker | None) -> None:
        self.db = db
        self.media = media
        self.content = content

    def join(self, video_id: int) -> Video:
        """One MP4 of the chain ending at `video_id`: a stream copy when the clips' encodings match.

        Raises:
            VideoNotFound: no such video. InvalidInput: "video_id" when it continues nothing (a chain needs two
                clips) or a clip's file is missing.
        """
        clips = chain(db=self.db, video_id=video_id)
        if len(clips) < 2:
            raise InvalidInput("video_id", f"video {video_id} continues no other video; Continue it first, then Join")
        sources = [self.media.local_path(clip.path, missing_ok=True) for clip in clips]
        if missing := [clip.id for clip, path in zip(clips, sources, strict=True) if not path.is_file()]:
            raise InvalidInput("video_id", f"the files of videos {missing} are missing; the chain cannot be joined")
        last = clips[-1]
        stem = f"join-{video_id}-{uuid.uuid4().hex[:12]}"
        incoming = library.incoming_dir(self.media.local_dir)
        video_tmp, poster_tmp = incoming / f"{stem}.mp4", incoming / f"{stem}.jpg"
        try:
            lossless = joins.encodings_match(sources)
            stored: dict[str, Any] = {
                **last.recipe,
                "join": {"video_ids": [c.id for c in clips], "lossless": lossless},
            }
            result = joins.join(sources, video_tmp, recipe=stored)
            _write_poster(video_tmp, poster_tmp)
            row_recipe = dataclasses.replace(
                Recipe.from_dict(last.recipe),
                width=result.info.width,
                height=result.info.height,
                num_frames=result.info.num_frames,
            )
            own = self.content.check_video(video_tmp) if self.content else None
            verdict = content_check.for_edit(own, clips)  # a join of a flagged clip stays flagged
            with self.db.write() as session:
                library.get(session=session, video_id=last.id)
                video = library.add(
                    session=session,
                    store=self.media,
                    recipe=row_recipe,
                    video_file=video_tmp,
                    poster_file=poster_tmp,
                    parent_id=last.id,
                    kind="join",
                    stored_recipe=stored,
                )
                content_check.apply(video, verdict)
                return video
        finally:
            video_tmp.unlink(missing_ok=True)
            poster_tmp.unlink(missing_ok=True)


def _write_poster(video: Path, poster: Path) -> None:
    import imageio_ffmpeg
    import numpy as np

    reader = imageio_ffmpeg.read_frames(str(video))
    try:
        width, height = next(reader)["size"]
        pixels = next(reader)
    finally:
        reader.close()
    mp4.write_poster(np.frombuffer(pixels, dtype=np.uint8).reshape(1, height, width, 3), poster)
