"""`--cache` from the settings to the preset the studio serves: replaced, turned off, or refused at start."""

from __future__ import annotations

import pytest

from app import resolve_preset
from studio.config import Settings


def test_the_cache_setting_reaches_the_preset() -> None:
    assert resolve_preset(Settings(model="tiny-1.3b")).step_cache.label == "magcache 0.06"  # type: ignore[union-attr]
    assert resolve_preset(Settings(model="tiny-1.3b", cache="fbcache:0.08")).step_cache.label == "fbcache 0.08"  # type: ignore[union-attr]
    assert resolve_preset(Settings(model="tiny-1.3b", cache="none")).step_cache is None


def test_a_bad_cache_setting_stops_the_start_naming_it() -> None:
    with pytest.raises(ValueError, match="cache") as caught:
        resolve_preset(Settings(model="tiny-1.3b", cache="teacache"))
    assert "magcache, fbcache" in str(caught.value)
