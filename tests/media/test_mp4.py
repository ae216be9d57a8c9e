"""studio.media.mp4 against the real bundled ffmpeg, on tiny synthetic clips in a temp folder."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from studio.domain.preset_types import WAN_NEGATIVE_PROMPT
from studio.media import mp4


def moving_gradient(num_frames: int, width: int, height: int) -> np.ndarray:
    """A diagonal gradient that slides a few pixels per frame, so the encoder has real motion to code."""
    ys, xs = np.mgrid[0:height, 0:width]
    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    for i in range(num_frames):
        frames[i, ..., 0] = (xs * 255 // width + 8 * i) % 256
        frames[i, ..., 1] = (ys * 255 // height + 4 * i) % 256
        frames[i, ..., 2] = ((xs + ys) * 2 + 16 * i) % 256
    return frames


def ffmpeg_info(path: Path) -> str:
    """`ffmpeg -i path` stderr: the closest thing to ffprobe the bundled binary offers."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stderr


def top_level_boxes(path: Path) -> list[str]:
    """Types of the MP4's top-level boxes, in file order."""
    data = path.read_bytes()
    boxes: list[str] = []
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:  # 64-bit size follows the type
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:  # box runs to the end of the file
            size = len(data) - offset
        boxes.append(kind.decode("latin-1"))
        offset += size
    return boxes


@pytest.fixture
def landscape(tmp_path: Path) -> Path:
    """A 17-frame 160×96 clip at 16 fps, the shape of a short Wan clip shrunk to test size."""
    path = tmp_path / "clip.mp4"
    mp4.write_mp4(moving_gradient(17, 160, 96), path, fps=16)
    return path


def test_probe_reads_size_frames_fps_and_duration(landscape: Path) -> None:
    info = mp4.probe(landscape)
    assert (info.width, info.height, info.num_frames) == (160, 96, 17)
    assert info.fps == pytest.approx(16.0)
    assert info.duration_s == pytest.approx(17 / 16, abs=0.02)


def test_portrait_clip_reads_back_portrait(tmp_path: Path) -> None:
    path = tmp_path / "portrait.mp4"
    mp4.write_mp4(moving_gradient(5, 96, 160), path, fps=16)
    info = mp4.probe(path)
    assert (info.width, info.height, info.num_frames) == (96, 160, 5)


def test_float_frames_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "float.mp4"
    mp4.write_mp4(moving_gradient(3, 64, 32).astype(np.float32) / 255.0, path, fps=24)
    info = mp4.probe(path)
    assert (info.width, info.height, info.num_frames, info.fps) == (64, 32, 3, 24.0)


def test_h264_yuv420p_and_faststart(landscape: Path) -> None:
    info = ffmpeg_info(landscape)
    assert "Video: h264" in info
    assert "yuv420p" in info
    boxes = top_level_boxes(landscape)
    assert boxes.index("moov") < boxes.index("mdat"), boxes


def test_recipe_round_trip_with_chinese_and_long_text(tmp_path: Path) -> None:
    recipe = {
        # ffmetadata's escapes, a newline, and line breaks JSON keeps raw (U+2028, U+0085) must all survive.
        "prompt": '一只橘猫在雨中的霓虹街道上奔跑，电影感 = ; # \\ "quoted"\nsecond\u2028third\x85fourth',
        "negative_prompt": WAN_NEGATIVE_PROMPT * 5,  # over 2 KB of UTF-8 once encoded
        "seed": 4_294_967_295,
        "guidance_scale": 5.0,
        "size": [160, 96],
    }
    assert len(json.dumps(recipe, ensure_ascii=False).encode()) > 2000
    path = tmp_path / "recipe.mp4"
    mp4.write_mp4(moving_gradient(3, 160, 96), path, fps=16, recipe=recipe)
    assert mp4.read_recipe(path) == recipe


def test_video_without_recipe_reads_none(landscape: Path) -> None:
    assert mp4.read_recipe(landscape) is None


def test_foreign_mp4_reads_none(tmp_path: Path) -> None:
    path = tmp_path / "foreign.mp4"
    writer = imageio_ffmpeg.write_frames(str(path), (160, 96), fps=16, macro_block_size=1)
    writer.send(None)  # a fresh generator must be primed before it takes frames
    for frame in moving_gradient(4, 160, 96):
        writer.send(frame)
    writer.close()
    assert mp4.read_recipe(path) is None
    assert mp4.probe(path).num_frames == 4


def test_text_file_is_not_a_readable_video(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("not a video\n")
    with pytest.raises(ValueError, match="is not a readable video"):
        mp4.read_recipe(path)
    with pytest.raises(ValueError, match="is not a readable video"):
        mp4.probe(path)


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        mp4.read_recipe(tmp_path / "gone.mp4")


def test_write_leaves_only_the_final_files(tmp_path: Path) -> None:
    frames = moving_gradient(3, 160, 96)
    mp4.write_mp4(frames, tmp_path / "a.mp4", fps=16, recipe={"prompt": "x"})
    mp4.write_poster(frames, tmp_path / "a.jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "a.mp4"]


def test_write_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "a.mp4"
    path.write_bytes(b"old")
    mp4.write_mp4(moving_gradient(3, 160, 96), path, fps=16)
    assert mp4.probe(path).num_frames == 3


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        (np.zeros((3, 96, 161, 3), np.uint8), "even width and height"),
        (np.zeros((3, 96, 160), np.uint8), "expected shape"),
        (np.zeros((3, 96, 160, 4), np.uint8), "expected shape"),
        (np.zeros((0, 96, 160, 3), np.uint8), "at least one frame"),
        (np.zeros((3, 96, 160, 3), np.int32), "uint8 or float"),
    ],
)
def test_bad_frames_raise_and_leave_no_file(tmp_path: Path, frames: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mp4.write_mp4(frames, tmp_path / "bad.mp4", fps=16)
    assert list(tmp_path.iterdir()) == []


def test_ffmpeg_failure_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An x264 preset that does not exist makes ffmpeg itself fail, after the temp file exists.
    monkeypatch.setattr(mp4, "PRESET", "no-such-preset")
    with pytest.raises(RuntimeError, match="ffmpeg could not write"):
        mp4.write_mp4(moving_gradient(3, 160, 96), tmp_path / "bad.mp4", fps=16)
    assert list(tmp_path.iterdir()) == []


def test_poster_is_a_jpeg_of_the_frame_size(tmp_path: Path) -> None:
    path = tmp_path / "poster.jpg"
    mp4.write_poster(moving_gradient(3, 96, 160), path)
    with Image.open(path) as image:
        assert image.format == "JPEG"
        assert image.size == (96, 160)
