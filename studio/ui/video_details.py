"""The History detail panel's text for one video: its whole recipe, how it was made, timings and links."""

from __future__ import annotations

from typing import Any

from studio.domain.step_cache import forwards_line
from studio.store.rows import Video
from studio.ui.text import plain


def _speed_and_weights(recipe: dict[str, Any]) -> str:
    """The detail line's tail, e.g. " · **Speed:** fast (…) · **Weights:** fp8"; empty when the recipe has neither."""
    parts = []
    if recipe.get("speed") == "fast":
        parts.append(f" · **Speed:** fast ({plain(recipe.get('lora') or 'distilled LoRA')})")
    if recipe.get("speed") == "balanced":
        cache = f"{recipe.get('cache') or 'step cache'} {recipe.get('cache_threshold') or ''}".strip()
        parts.append(f" · **Speed:** balanced ({plain(cache)})")
    if recipe.get("precision"):
        parts.append(f" · **Weights:** {plain(recipe['precision'])}")
    if recipe.get("attention"):
        parts.append(f" · **Attention:** {plain(recipe['attention'])} (8-bit)")
    return "".join(parts)


def forwards_note(recipe: dict[str, Any]) -> str:
    """For a Balanced video " · 23 of 80 forwards skipped"; empty otherwise."""
    run, total = recipe.get("forwards_run"), recipe.get("forwards_total")
    return f" · {forwards_line(run, total)}" if isinstance(run, int) and isinstance(total, int) else ""


def describe_video(video: Video) -> str:
    """The detail panel's text: the whole recipe, timings and links."""
    timings = " · ".join(
        f"{name} {value:.1f} s"
        for name, value in (
            ("load", video.load_s),
            ("text encode", video.text_encode_s),
            ("denoise", video.denoise_s),
            ("decode", video.decode_s),
            ("encode", video.encode_s),
        )
        if value is not None
    )
    guidance = f"{video.guidance:g}" + (f" / {video.guidance_2:g} (low noise)" if video.guidance_2 is not None else "")
    lines = [
        f"### Video #{video.id}{' ★' if video.favorite else ''}",
        f"**Prompt:** {plain(video.prompt)}",
        f"**Negative prompt:** {plain(video.negative_prompt) if video.negative_prompt else '—'}",
        f"**Seed:** {video.seed} · **Model:** {plain(video.model)}",
        f"**Size:** {video.width}×{video.height} · {video.num_frames} frames · {video.fps} fps"
        f" · {video.duration_s:.2f} s",
        f"**Steps:** {video.steps} · **Guidance:** {guidance} · **Flow shift:** {video.flow_shift:g}"
        + _speed_and_weights(video.recipe or {}),
        f"**Timings:** {timings or '—'}"
        + (f" · peak GPU memory {video.peak_memory_gb:.1f} GB" if video.peak_memory_gb else "")
        + forwards_note(video.recipe or {}),
        f"**Created:** {video.created_at:%Y-%m-%d %H:%M:%S} UTC",
    ]
    if video.flagged:
        score = "" if video.content_score is None else f" (score {video.content_score:.2f})"
        lines.insert(1, f"⚠️ flagged by the content check{score}")
    elif video.content_score is not None:
        lines.append(f"**Content check:** passed (score {video.content_score:.2f})")
    kind = getattr(video, "kind", "generated")
    recipe = video.recipe or {}
    if recipe.get("start_image"):  # image to video: the images by their id (History shows the start image itself)
        end = f" · **End image:** `{plain(str(recipe['end_image'])[:12])}…`" if recipe.get("end_image") else ""
        fit = f" ({plain(str(recipe.get('image_fit') or 'crop'))})"
        lines.append(f"**Start image:** `{plain(str(recipe['start_image'])[:12])}…`{fit}{end}")
    if kind == "join" and isinstance(recipe.get("join"), dict):
        ids = ", ".join(f"#{i}" for i in recipe["join"].get("video_ids", []))
        copied = "lossless" if recipe["join"].get("lossless") else "re-encoded"
        lines.append(f"**Joined from:** videos {ids} ({copied})")
    elif video.parent_id is not None and recipe.get("continues") == video.parent_id:
        lines.append(f"**Continues:** video #{video.parent_id} (from its last frame)")
    elif video.parent_id is not None:
        lines.append(f"**Trimmed from:** video #{video.parent_id}")
    if video.group_id:
        lines.append(
            f"**Comparison group:** {plain(video.group_id)}" + (" (tiled export)" if kind == "comparison" else "")
        )
    return "\n\n".join(lines)
