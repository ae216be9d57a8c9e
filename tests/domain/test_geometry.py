import pytest

from studio.domain import geometry
from studio.domain.presets import PRESETS


@pytest.mark.parametrize("preset_key", list(PRESETS))
@pytest.mark.parametrize("aspect", list(geometry.ASPECT_RATIOS))
def test_every_preset_aspect_and_quality_gives_a_valid_size(preset_key: str, aspect: str) -> None:
    preset = PRESETS[preset_key]
    rw, rh = geometry.ASPECT_RATIOS[aspect]
    for quality, (native_w, native_h) in preset.qualities.items():
        width, height = geometry.size_for(preset, aspect, quality)
        assert width % preset.size_multiple == 0 and height % preset.size_multiple == 0
        assert abs(width / height - rw / rh) / (rw / rh) < 0.12, (width, height)
        # about the tier's pixel count
        assert 0.75 < (width * height) / (native_w * native_h) < 1.45
        assert (width > height) == (rw > rh) or rw == rh


@pytest.mark.parametrize(
    ("preset_key", "aspect", "quality", "expected"),
    [
        ("wan2.2-t2v-a14b", "16:9", "720p", (1280, 720)),
        ("wan2.2-t2v-a14b", "9:16", "720p", (720, 1280)),
        ("wan2.2-t2v-a14b", "16:9", "480p", (832, 480)),
        ("wan2.2-t2v-a14b", "9:16", "480p", (480, 832)),
        ("wan2.2-ti2v-5b", "16:9", "720p", (1280, 704)),
        ("wan2.2-ti2v-5b", "9:16", "720p", (704, 1280)),
        ("wan2.1-t2v-1.3b", "16:9", "480p", (832, 480)),
        ("tiny-a14b", "16:9", "preview", (160, 96)),
        ("tiny-a14b", "9:16", "preview", (96, 160)),
    ],
)
def test_native_sizes(preset_key: str, aspect: str, quality: str, expected: tuple[int, int]) -> None:
    assert geometry.size_for(PRESETS[preset_key], aspect, quality) == expected


def test_ti2v_sizes_are_multiples_of_32() -> None:
    preset = PRESETS["wan2.2-ti2v-5b"]
    for aspect in geometry.ASPECT_RATIOS:
        width, height = geometry.size_for(preset, aspect, "720p")
        assert width % 32 == 0 and height % 32 == 0


@pytest.mark.parametrize(
    ("preset_key", "seconds", "frames"),
    [
        ("wan2.2-t2v-a14b", 5.0, 81),
        ("wan2.2-t2v-a14b", 3.0, 49),
        ("wan2.2-t2v-a14b", 1.0, 17),
        ("wan2.2-t2v-a14b", 60.0, 81),  # clamped to the model's limit
        ("wan2.2-t2v-a14b", 0.0, 5),
        ("wan2.2-ti2v-5b", 5.0, 121),
        ("wan2.2-ti2v-5b", 2.0, 49),
        ("wan2.1-t2v-1.3b", 2.5, 41),
    ],
)
def test_seconds_to_frames(preset_key: str, seconds: float, frames: int) -> None:
    assert geometry.frames_for(PRESETS[preset_key], seconds) == frames


@pytest.mark.parametrize("preset_key", list(PRESETS))
def test_frames_are_always_4k_plus_1_and_round_trip(preset_key: str) -> None:
    preset = PRESETS[preset_key]
    for tenths in range(0, 80):
        frames = geometry.frames_for(preset, tenths / 10)
        assert frames % 4 == 1
        assert preset.min_frames <= frames <= preset.max_frames
        # seconds → frames → seconds → frames is stable
        assert geometry.frames_for(preset, geometry.seconds_for(preset, frames)) == frames


def test_describe() -> None:
    assert geometry.describe(720, 1280, 49, 16) == "720×1280 · 49 frames · 16 fps · 3.1 s"


def test_unknown_aspect_and_quality_name_the_allowed_values() -> None:
    preset = PRESETS["wan2.2-ti2v-5b"]
    with pytest.raises(ValueError, match=r"aspect_ratio.*16:9"):
        geometry.size_for(preset, "2:1", "720p")
    with pytest.raises(ValueError, match=r"quality.*720p"):
        geometry.size_for(preset, "16:9", "480p")
