"""studio.media.trims against the real bundled ffmpeg, on tiny clips whose frames each show their own index."""

from __future__ import annotations

import hashlib
import math
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from studio.domain.errors import InvalidInput
from studio.media import mp4, tiles, trims

FPS = 16
BITS = 8  # frame i shows i in binary as 8 vertical stripes, white = 1: survives H.264 at any CRF


def coded_frames(num_frames: int, width: int = 128, height: int = 48) -> np.ndarray:
    """Frames that show their own index as stripes, so a test can tell exactly which frames a file holds."""
    frames = np.zeros((num_frames, height, width, 3), dtype=np.uint8)
    for i in range(num_frames):
        for bit in range(BITS):
            if i >> bit & 1:
                frames[i, :, bit * width // BITS : (bit + 1) * width // BITS] = 255
    return frames


def read_index(pixels: np.ndarray) -> int:
    """The index shown by one frame (or one grid cell), read from its bottom half (labels sit at the top)."""
    height, width, _ = pixels.shape
    stripes = [pixels[height // 2 :, bit * width // BITS : (bit + 1) * width // BITS] for bit in range(BITS)]
    return sum(1 << bit for bit, stripe in enumerate(stripes) if stripe.mean() > 128)


def decode(path: Path) -> list[np.ndarray]:
    """Every frame of `path` as RGB arrays."""
    reader = imageio_ffmpeg.read_frames(str(path))
    width, height = next(reader)["size"]
    return [np.frombuffer(buf, dtype=np.uint8).reshape(height, width, 3) for buf in reader]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """81 frames (5.0625 s) at 16 fps from media.write_mp4, with a recipe: one keyframe (x264's GOP is 250)."""
    path = tmp_path / "clip.mp4"
    mp4.write_mp4(coded_frames(81), path, fps=FPS, recipe={"seed": 7, "num_frames": 81})
    return path


@pytest.fixture
def gop_clip(clip: Path, tmp_path: Path) -> Path:
    """The same frames with a keyframe every 8 frames and forced B-frames (decode order ≠ display order), so a
    lossless cut has somewhere to land besides frame 0 and must not end inside a B-frame group."""
    path = tmp_path / "gop.mp4"
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(clip), "-c:v", "libx264"]
    cmd += [
        "-x264-params",
        "keyint=8:min-keyint=8:scenecut=0:bframes=3:b-adapt=0",
        "-crf",
        "18",
        "-pix_fmt",
        "yuv420p",
        str(path),
    ]
    subprocess.run(cmd, check=True)
    return path


@pytest.mark.parametrize(
    ("start_s", "end_s", "fps", "num_frames", "frames"),
    [
        (1.0, 4.0, 24, 121, (24, 96)),
        (0.0, 81 / 16, 16, 81, (0, 81)),  # the whole clip
        (0.03, 0.1, 16, 81, (0, 2)),  # 0.48 and 1.6 frames: nearest boundaries
        (1.02, 1.1, 16, 81, (16, 18)),
        (2.5, 2.6, 16, 81, (40, 42)),  # 41.6 rounds up
        (-1e-9, 1.0 + 1e-9, 16, 81, (0, 16)),  # float noise at the edges is not an error
    ],
)
def test_plan_trim_snaps_to_frame_boundaries(
    start_s: float, end_s: float, fps: float, num_frames: int, frames: tuple[int, int]
) -> None:
    plan = trims.plan_trim(start_s=start_s, end_s=end_s, fps=fps, num_frames=num_frames)
    assert (plan.start_frame, plan.end_frame, plan.num_frames) == (*frames, frames[1] - frames[0])
    assert (plan.start_s, plan.end_s) == (frames[0] / fps, frames[1] / fps)


@pytest.mark.parametrize(
    ("start_s", "end_s", "field", "message"),
    [
        (1.0, 0.5, "end_s", "End must be after start (0.5 s ≤ 1 s)"),
        (1.0, 1.0, "end_s", "End must be after start (1 s ≤ 1 s)"),
        (-1.0, 2.0, "start_s", "Start (-1 s) is outside the clip (0–5.062 s)"),
        (6.0, 7.0, "start_s", "Start (6 s) is outside the clip (0–5.062 s)"),
        (0.0, 5.1, "end_s", "End (5.1 s) is outside the clip (0–5.062 s)"),
        (1.0, 1.02, "end_s", "The range is shorter than one frame (1/16 s)"),
        (math.nan, 1.0, "start_s", "Start must be a number of seconds, got nan"),
        (0.0, math.inf, "end_s", "End must be a number of seconds, got inf"),
        (-math.inf, 1.0, "start_s", "Start must be a number of seconds, got -inf"),
    ],
)
def test_plan_trim_rejects_bad_points_naming_the_field(start_s: float, end_s: float, field: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        trims.plan_trim(start_s=start_s, end_s=end_s, fps=16, num_frames=81)
    assert (caught.value.field, caught.value.message) == (field, message)
    assert str(caught.value) == f"{field}: {message}"
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(("fps", "num_frames", "field"), [(0, 81, "fps"), (math.nan, 81, "fps"), (16, 0, "num_frames")])
def test_plan_trim_rejects_a_bad_clip(fps: float, num_frames: int, field: str) -> None:
    with pytest.raises(InvalidInput, match=f"^{field}: "):
        trims.plan_trim(start_s=0, end_s=1, fps=fps, num_frames=num_frames)


@pytest.mark.parametrize("source", ["clip", "gop_clip"])  # gop_clip: decoding starts at a later keyframe
@pytest.mark.parametrize(("start_s", "end_s"), [(1.0, 2.0), (0.0, 0.5), (4.5, 81 / 16), (0.44, 0.56), (2.46, 2.53)])
def test_trim_keeps_exactly_the_planned_frames(
    request: pytest.FixtureRequest, tmp_path: Path, source: str, start_s: float, end_s: float
) -> None:
    result = trims.trim(request.getfixturevalue(source), tmp_path / "cut.mp4", start_s=start_s, end_s=end_s)
    plan = result.plan
    assert [read_index(frame) for frame in decode(tmp_path / "cut.mp4")] == list(
        range(plan.start_frame, plan.end_frame)
    )
    assert (result.actual_start_s, result.actual_end_s, result.lossless) == (plan.start_s, plan.end_s, False)
    decoded = mp4.probe(tmp_path / "cut.mp4")  # decodes every frame: the ground truth for result.info
    assert (result.info.num_frames, decoded.num_frames) == (plan.num_frames, plan.num_frames)
    assert (result.info.width, result.info.height, result.info.fps, decoded.fps) == (128, 48, FPS, FPS)
    assert result.info.duration_s == pytest.approx(plan.end_s - plan.start_s)
    assert decoded.duration_s == pytest.approx(plan.num_frames / FPS, abs=0.01)


def test_lossless_cut_of_our_clips_lands_on_the_second_before(clip: Path, tmp_path: Path) -> None:
    # media.write_mp4 puts a keyframe every second, so a stream-copy cut is good to the second.
    result = trims.trim(clip, tmp_path / "cut.mp4", start_s=1.5, end_s=2.0, lossless=True)
    assert result.actual_start_s == 1.0
    assert result.actual_end_s >= result.plan.end_s
    kept = [read_index(frame) for frame in decode(tmp_path / "cut.mp4")]
    assert kept == list(range(round(result.actual_start_s * FPS), round(result.actual_end_s * FPS)))


@pytest.mark.parametrize(("start_s", "end_s"), [(1.3, 1.5), (0.7, 4.01), (3.2, 81 / 16), (2.0, 3.0)])
def test_lossless_cut_reports_where_it_really_landed(
    gop_clip: Path, tmp_path: Path, start_s: float, end_s: float
) -> None:
    result = trims.trim(gop_clip, tmp_path / "cut.mp4", start_s=start_s, end_s=end_s, lossless=True)
    first, last = round(result.actual_start_s * FPS), round(result.actual_end_s * FPS)
    assert first % 8 == 0  # a keyframe
    assert result.actual_start_s <= result.plan.start_s < result.actual_start_s + 8 / FPS
    assert result.actual_end_s >= result.plan.end_s
    # The file holds exactly the frames the result names: decoded, counted and timed.
    assert [read_index(frame) for frame in decode(tmp_path / "cut.mp4")] == list(range(first, last))
    decoded = mp4.probe(tmp_path / "cut.mp4")
    assert decoded.num_frames == result.info.num_frames == last - first
    assert decoded.duration_s == pytest.approx(result.actual_end_s - result.actual_start_s, abs=0.01)


@pytest.mark.parametrize("lossless", [False, True])
def test_trim_never_modifies_the_source_and_leaves_no_temp_files(clip: Path, tmp_path: Path, lossless: bool) -> None:
    before = sha256(clip)
    trims.trim(clip, tmp_path / "cut.mp4", start_s=1.0, end_s=2.0, lossless=lossless)
    with pytest.raises(InvalidInput, match=r"^target: "):
        trims.trim(clip, clip, start_s=1.0, end_s=2.0, lossless=lossless)
    assert sha256(clip) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "cut.mp4"]


@pytest.mark.parametrize("lossless", [False, True])
def test_trim_stores_the_given_recipe_and_drops_the_sources(clip: Path, tmp_path: Path, lossless: bool) -> None:
    recipe = {"prompt": "纸船在雨中", "seed": 7, "trim": {"start_s": 1.0, "end_s": 2.0, "source_id": 3}}
    trims.trim(clip, tmp_path / "with.mp4", start_s=1.0, end_s=2.0, lossless=lossless, recipe=recipe)
    trims.trim(clip, tmp_path / "without.mp4", start_s=1.0, end_s=2.0, lossless=lossless)
    assert mp4.read_recipe(tmp_path / "with.mp4") == recipe
    assert mp4.read_recipe(tmp_path / "without.mp4") is None  # the source's recipe describes the uncut clip
    assert mp4.read_recipe(clip) == {"seed": 7, "num_frames": 81}


def test_trim_names_the_source_when_it_is_missing_or_not_a_video(tmp_path: Path) -> None:
    # The message names the file, never the server's path to it
    with pytest.raises(InvalidInput, match=r"^source: the video file is missing on disk \(gone\.mp4\)$"):
        trims.trim(tmp_path / "gone.mp4", tmp_path / "cut.mp4", start_s=0, end_s=1)
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video\n")
    with pytest.raises(InvalidInput, match=r"^source: notes\.mp4 is not a readable video"):
        trims.trim(notes, tmp_path / "cut.mp4", start_s=0, end_s=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.mp4"]


def test_trim_checks_the_points_against_the_real_clip(clip: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"^end_s: End \(6 s\) is outside the clip \(0–5\.062 s\)$"):
        trims.trim(clip, tmp_path / "cut.mp4", start_s=1, end_s=6)


def test_tile_lays_out_labelled_clips_and_holds_the_short_ones(tmp_path: Path) -> None:
    sources = [tmp_path / "a.mp4", tmp_path / "b.mp4", tmp_path / "c.mp4"]
    mp4.write_mp4(coded_frames(9, 160, 96), sources[0], fps=FPS)
    mp4.write_mp4(coded_frames(17, 160, 96), sources[1], fps=FPS)
    mp4.write_mp4(coded_frames(13, 320, 192), sources[2], fps=FPS)  # twice the size: scaled into its cell
    hashes = [sha256(path) for path in sources]
    recipe = {"compare": [42, 43, 44]}

    info = tiles.tile(sources, ["seed 42", "seed 43", "seed 44"], tmp_path / "grid.mp4", recipe=recipe)

    assert (info.width, info.height, info.num_frames, info.fps) == (480, 96, 17, FPS)  # 1×3 as on the page
    assert mp4.probe(tmp_path / "grid.mp4").num_frames == 17
    frames = decode(tmp_path / "grid.mp4")
    corners = [(0, 0), (0, 160), (0, 320)]  # cells in reading order, no empty black cell
    cells = [[read_index(frame[y : y + 96, x : x + 160]) for frame in frames] for y, x in corners]
    assert cells[0] == [*range(9), *[8] * 8]  # 9 frames, then its last frame held
    assert cells[1] == list(range(17))
    assert cells[2] == [*range(13), *[12] * 4]
    # Frame 0 of every clip is black, so white in a cell's top-left corner is its label's text.
    assert all(frames[0][y : y + 24, x : x + 80].max() > 200 for y, x in corners)
    assert mp4.read_recipe(tmp_path / "grid.mp4") == recipe
    assert [sha256(path) for path in sources] == hashes


def test_tile_rejects_bad_inputs_naming_the_field(clip: Path, tmp_path: Path) -> None:
    target = tmp_path / "grid.mp4"
    with pytest.raises(InvalidInput, match=r"^sources: a comparison takes 2–8 clips, got 1$"):
        tiles.tile([clip], ["seed 7"], target)
    with pytest.raises(InvalidInput, match=r"^sources: a comparison takes 2–8 clips, got 9$"):
        tiles.tile([clip] * 9, ["x"] * 9, target)
    with pytest.raises(InvalidInput, match=r"^labels: need one label per clip: 2 clips, 1 labels$"):
        tiles.tile([clip, clip], ["seed 7"], target)
    with pytest.raises(InvalidInput, match=r"^sources: the video file is missing on disk"):
        tiles.tile([clip, tmp_path / "gone.mp4"], ["a", "b"], target)
    assert not target.exists()


def test_tile_lays_out_an_xy_grid_row_by_row_with_each_cells_values(tmp_path: Path) -> None:
    sources = [tmp_path / f"{k}.mp4" for k in range(6)]
    for k, path in enumerate(sources):
        frames = coded_frames(9 + k, 96, 160) if k == 5 else coded_frames(9 + k, 160, 96)  # the last one portrait
        mp4.write_mp4(frames, path, fps=FPS)
    labels = [f"一只猫 · guidance {g}" for g in (3, 5, 7) for _ in range(2)]

    info = tiles.tile(sources, labels, tmp_path / "grid.mp4", shape=(3, 2))  # 3 rows (Y) × 2 columns (X)

    assert (info.width, info.height, info.num_frames) == (2 * 160, 3 * 96, 14)
    frames = decode(tmp_path / "grid.mp4")
    corners = [(k // 2 * 96, k % 2 * 160) for k in range(6)]  # row by row
    assert [read_index(frames[-1][y : y + 96, x : x + 160]) for y, x in corners[:5]] == [8, 9, 10, 11, 12]
    assert all(frames[0][y : y + 24, x : x + 80].max() > 200 for y, x in corners)  # every cell labelled
    # The portrait clip (last frame 13: stripes 0, 2, 3 white) is letterboxed: black bars on both sides of it
    y, x = corners[5]
    assert frames[-1][y + 40 : y + 96, x : x + 40].max() < 40
    assert frames[-1][y + 40 : y + 96, x + 52 : x + 108].max() > 200
    with pytest.raises(InvalidInput, match=r"^sources: a 2×2 grid takes 4 clips"):
        tiles.tile(sources[:3], labels[:3], tmp_path / "other.mp4", shape=(2, 2))


def test_tile_names_each_column_and_row_in_bands_beside_the_grid(tmp_path: Path) -> None:
    sources = [tmp_path / f"{k}.mp4" for k in range(4)]
    for k, path in enumerate(sources):
        mp4.write_mp4(coded_frames(9 + k, 160, 96), path, fps=FPS)
    headers = (["…red…", "…blue…"], ["guidance 3", "guidance 5"])

    info = tiles.tile(sources, [""] * 4, tmp_path / "grid.mp4", shape=(2, 2), headers=headers)

    left, top = info.width - 2 * 160, info.height - 2 * 96
    assert left > 40 and top > 10 and left % 2 == 0 and top % 2 == 0
    frame = decode(tmp_path / "grid.mp4")[-1]
    # The grid sits below and right of the bands, row by row as before
    corners = [(top + k // 2 * 96, left + k % 2 * 160) for k in range(4)]
    assert [read_index(frame[y : y + 96, x : x + 160]) for y, x in corners] == [8, 9, 10, 11]
    # Each column's header in the top band, each row's in the left band: white text on black
    for col in range(2):
        assert frame[:top, left + col * 160 : left + (col + 1) * 160].max() > 200
    for row in range(2):
        assert frame[top + row * 96 : top + (row + 1) * 96, :left].max() > 200
    assert frame[:top, :left].max() < 40  # the corner stays empty
    with pytest.raises(InvalidInput, match=r"^headers: "):
        tiles.tile(sources, [""] * 4, tmp_path / "other.mp4", shape=(2, 2), headers=(["a"], ["b", "c"]))
