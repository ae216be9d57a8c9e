"""Join clips into one MP4: a stream copy (lossless) when their encodings match, else one re-encode.

Sources are only read; the result goes to a temp file beside the target that is renamed into place.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np

from studio.media import mp4


@dataclass(frozen=True)
class JoinResult:
    info: mp4.VideoInfo
    lossless: bool  # the H.264 packets were copied (every clip had the same size and frame rate)


def join(sources: list[Path], target: Path, *, recipe: dict[str, Any] | None = None) -> JoinResult:
    """Write the clips one after another into `target`, carrying `recipe`.

    Raises:
        ValueError: fewer than two clips, or one that is not a readable video.
        RuntimeError: ffmpeg failed.
    """
    if len(sources) < 2:
        raise ValueError("sources: a join needs at least two clips")
    infos = [mp4.probe(path) for path in sources]
    same = _match(infos)
    if same:
        _concat_copy(sources, target, recipe)
    else:
        _reencode(sources, target, recipe, infos)
    return JoinResult(info=mp4.probe(target), lossless=same)


def encodings_match(sources: list[Path]) -> bool:
    """Whether the clips can be joined by copying their packets: the same size and frame rate (our MP4s share the
    rest of their H.264 settings)."""
    return _match([mp4.probe(path) for path in sources])


def _match(infos: list[mp4.VideoInfo]) -> bool:
    first = infos[0]
    return all((i.width, i.height, round(i.fps, 3)) == (first.width, first.height, round(first.fps, 3)) for i in infos)


def _concat_copy(sources: list[Path], target: Path, recipe: dict[str, Any] | None) -> None:
    """ffmpeg's concat demuxer with `-c copy`: the packets as they are, one timeline."""
    with tempfile.TemporaryDirectory(prefix="studio-join-") as folder:
        listing = Path(folder) / "clips.txt"
        # Paths come from the media store (row keys), never from a client; quoted for the concat syntax anyway
        listing.write_text("".join(f"file '{_quote(p)}'\n" for p in sources), encoding="utf-8")
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
        cmd += ["-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0:v:0", "-c", "copy", "-an"]
        cmd += ["-movflags", "+faststart", *mp4.recipe_metadata_args(recipe)]
        with mp4.temp_beside(target) as tmp:
            result = subprocess.run([*cmd, "-f", "mp4", str(tmp)], capture_output=True, check=False)
            if result.returncode != 0:
                log = result.stderr.decode(errors="replace").strip()
                raise RuntimeError(f"ffmpeg could not join into {target.name} (exit {result.returncode}): {log}")


def _reencode(sources: list[Path], target: Path, recipe: dict[str, Any] | None, infos: list[mp4.VideoInfo]) -> None:
    """Decode every clip, fit its frames to the first clip's size (pad) and encode them at its frame rate."""
    width, height, fps = infos[0].width, infos[0].height, infos[0].fps
    frames: list[np.ndarray] = []
    for path, info in zip(sources, infos, strict=True):
        reader = imageio_ffmpeg.read_frames(str(path))
        try:
            next(reader)
            for pixels in reader:
                frame = np.frombuffer(pixels, dtype=np.uint8).reshape(info.height, info.width, 3)
                frames.append(_fit(frame, width, height))
        finally:
            reader.close()
    mp4.write_mp4(np.stack(frames), target, fps=max(1, round(fps)), recipe=recipe)


def _fit(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    if frame.shape[:2] == (height, width):
        return frame
    import PIL.Image

    image = PIL.Image.fromarray(frame)
    image.thumbnail((width, height))
    canvas = PIL.Image.new("RGB", (width, height))
    canvas.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
    return np.asarray(canvas)


def _quote(path: Path) -> str:
    return str(path.resolve()).replace("'", "'\\''")
