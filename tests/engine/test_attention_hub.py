"""Hub attention kernels: tried only where the hub and `kernels` are there; an 8-bit kernel is recorded per video."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from studio.domain.recipe import RecipeRequest
from studio.engine.attention import available_attention_backends, changes_the_picture, hub_candidates
from studio.services.studio import Studio
from studio.ui.video_details import describe_video
from tests.fakes import FakePipeline
from tests.helpers import wait_final


def test_hub_kernels_are_candidates_only_online_with_the_kernels_package() -> None:
    assert hub_candidates(offline=False, kernels_installed=True) == ["_flash_3_hub"]
    assert hub_candidates(offline=True, kernels_installed=True) == []
    assert hub_candidates(offline=False, kernels_installed=False) == []


def test_offline_the_probe_skips_them_silently_and_never_picks_sage(caplog: pytest.LogCaptureFixture) -> None:
    names = available_attention_backends()  # the tests run with HF_HUB_OFFLINE=1 and without `kernels`
    assert not [name for name in names if name.endswith("_hub") or "sage" in name]
    assert names[-1] == "native"
    assert not caplog.records  # nothing said about kernels it did not try


def test_sage_changes_the_picture_flash_does_not() -> None:
    assert changes_the_picture("sage_hub") and changes_the_picture("sage")
    assert changes_the_picture("_sage_qk_int8_pv_fp8_cuda")
    assert not changes_the_picture("_flash_3_hub") and not changes_the_picture("native")
    assert not changes_the_picture(None)


def test_a_video_made_with_sage_attention_records_it(
    studio: Studio, fake: FakePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain_generate = fake.generate

    def with_sage(*args: Any, **kwargs: Any) -> Any:
        return dataclasses.replace(plain_generate(*args, **kwargs), attention="sage_hub")

    monkeypatch.setattr(fake, "generate", with_sage)
    view = studio.submit(RecipeRequest(prompt="a lighthouse at dusk", duration_s=0.5, steps=2))
    done = wait_final(studio, view.id, timeout=30)
    assert done.video is not None, done.error
    assert done.video.recipe["attention"] == "sage_hub"
    assert "**Attention:** sage\\_hub (8-bit)" in describe_video(done.video)
