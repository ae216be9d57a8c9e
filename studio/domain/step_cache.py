"""Step caching for the Balanced speed, as data: which cache a preset uses, its parameters, and where they come from.

Balanced runs the model's own steps and guidance, but lets diffusers' cache hooks skip transformer forwards whose
output they predict from the previous step (MagCache: from published magnitude ratios; First Block Cache: when the
first block's output barely changed). Nothing here imports torch; studio.engine.step_cache applies it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, get_args

from studio.domain.errors import InvalidInput

CacheMethod = Literal["magcache", "fbcache"]
CACHE_METHODS: tuple[CacheMethod, ...] = get_args(CacheMethod)
THRESHOLD_RANGE = (0.001, 1.0)

# MagCache's published magnitude ratios (Zehong-Ma/MagCache, NeurIPS 2025, arXiv:2506.09045): the mean ratio of the
# norms of successive residuals (output − input of the block stack) per step, calibrated by the authors with SDPA on the
# real weights, for the conditional pass (the unconditional one differs in the fourth decimal). Taken from the
# authors' MagCache4Wan2.1/magcache_generate.py (Wan2.1) and their ComfyUI-MagCache nodes (Wan2.2), without the leading
# padding value. They hold for the model's default step count and are resampled (nearest) to others, as MagCache does.
WAN21_T2V_1_3B_RATIOS = (
    1.0, 1.0124, 1.00166, 0.99791, 0.99682, 0.99634, 0.99567, 0.99416, 0.99578, 0.9957, 0.99511, 0.99535, 0.99552,
    0.99541, 0.9954, 0.99489, 0.99518, 0.99484, 0.99481, 0.99415, 0.99419, 0.99396, 0.99388, 0.99349, 0.99309, 0.9927,
    0.99228, 0.99171, 0.99137, 0.99068, 0.99005, 0.98944, 0.98849, 0.98758, 0.98644, 0.98504, 0.9836, 0.98202, 0.97977,
    0.97717, 0.9741, 0.97003, 0.96538, 0.9593, 0.95086, 0.94013, 0.92402, 0.90241, 0.86821, 0.81838,
)  # fmt: skip
WAN22_T2V_A14B_RATIOS = (
    1.0,
    1.00124,
    0.99822,
    0.99696,
    0.99703,
    0.9966,
    0.99602,
    0.99578,
    0.99484,
    0.99633,
    0.99659,
    0.99534,
    0.99584,
    0.99681,
    0.99563,
    0.9944,
    0.99594,
    0.99466,
    0.99453,
    0.99389,
    0.99391,
    0.99354,
    0.99283,
    0.99268,
    0.99057,
    0.99125,
    0.65523,
    0.98808,
    0.98765,
    0.9851,
    0.98311,
    0.9805,
    0.97776,
    0.97278,
    0.96731,
    0.95857,
    0.94385,
    0.92118,
    0.88108,
    0.80263,
)  # fmt: skip  (the 0.655 at step 26 is the hand-over to the low-noise expert, whose cache starts afresh here)
WAN22_TI2V_5B_RATIOS = (
    1.0, 0.99505, 0.99441, 0.99558, 0.99499, 0.99534, 0.99468, 0.99463, 0.9946, 0.99408, 0.9945, 0.99409, 0.99403,
    0.99382, 0.99349, 0.99377, 0.9933, 0.99303, 0.99217, 0.992, 0.99201, 0.99133, 0.99112, 0.99155, 0.98958, 0.98959,
    0.98838, 0.98826, 0.9883, 0.98711, 0.98562, 0.98511, 0.98414, 0.98284, 0.98104, 0.97981, 0.97849, 0.97557, 0.97398,
    0.97171, 0.96917, 0.96511, 0.96263, 0.95839, 0.95483, 0.94942, 0.9468, 0.94583, 0.94843, 0.96949,
)  # fmt: skip


@dataclass(frozen=True)
class StepCache:
    """One preset's Balanced cache: the method, its parameters, and the source of its calibration."""

    method: CacheMethod
    threshold: float  # MagCache: the accumulated error allowed; First Block Cache: the relative change of block 1
    source: str  # where the calibration and parameters come from, shown in the README and the model's info
    max_skip_steps: int = 2  # MagCache's K: at most this many steps in a row reuse the cache
    retention_ratio: float = 0.2  # MagCache: this share of the first steps always runs
    mag_ratios: tuple[float, ...] = ()  # MagCache's per-step magnitude ratios at the model's default step count

    @property
    def label(self) -> str:
        """What a recipe records, e.g. "magcache 0.06"."""
        return f"{self.method} {self.threshold:g}"


_MAGCACHE_SOURCE = "MagCache (Zehong-Ma/MagCache, arXiv:2506.09045): published magnitude ratios for {model}, {params}"

WAN22_A14B_CACHE = StepCache(
    "magcache",
    0.06,
    _MAGCACHE_SOURCE.format(model="Wan2.2-T2V-A14B", params="E006 K2 (the authors' Wan2.2 A14B setting; R 0.4 there)"),
    retention_ratio=0.4,
    mag_ratios=WAN22_T2V_A14B_RATIOS,
)
WAN22_TI2V_5B_CACHE = StepCache(
    "magcache",
    0.06,
    _MAGCACHE_SOURCE.format(model="Wan2.2-TI2V-5B", params="E006 K2 R0.2 (the authors' TI2V-5B setting)"),
    mag_ratios=WAN22_TI2V_5B_RATIOS,
)
WAN21_1_3B_CACHE = StepCache(
    "magcache",
    0.06,
    _MAGCACHE_SOURCE.format(model="Wan2.1-T2V-1.3B", params="E006 K2 R0.2 (the paper's default setting)"),
    mag_ratios=WAN21_T2V_1_3B_RATIOS,
)

# No published MagCache calibration for Wan2.2-I2V-A14B here: First Block Cache needs none (it compares the first
# block's residual between steps), at diffusers' own default threshold.
WAN22_I2V_A14B_CACHE = StepCache(
    "fbcache",
    0.05,
    "First Block Cache (diffusers FirstBlockCacheConfig, its default threshold 0.05): no calibration needed; "
    "no published figures for Wan2.2-I2V-A14B",
)


def resample(ratios: tuple[float, ...], steps: int) -> list[float]:
    """`ratios` at `steps` steps by nearest neighbour (what MagCache does for other step counts)."""
    if steps <= 1:
        return list(ratios[-1:]) * max(steps, 0)
    scale = (len(ratios) - 1) / (steps - 1)
    return [ratios[int(i * scale + 0.5)] for i in range(steps)]


def check_threshold(field: str, value: float) -> float:
    low, high = THRESHOLD_RANGE
    if not low <= value <= high:
        raise InvalidInput(field, f"{value:g} is outside the allowed range {low:g}–{high:g}")
    return float(value)


def check_method(field: str, value: str) -> CacheMethod:
    for method in CACHE_METHODS:
        if value == method:
            return method
    raise InvalidInput(field, f"{value!r} is not one of {', '.join(CACHE_METHODS)}")


def with_method(cache: StepCache | None, method: CacheMethod, threshold: float | None) -> StepCache:
    """`cache` under another method or threshold; a method without calibration here starts from its own defaults.

    Raises:
        InvalidInput: MagCache for a model without published ratios (field "cache").
    """
    if cache is not None and cache.method == method:
        return cache if threshold is None else replace(cache, threshold=threshold)
    if method == "magcache":
        if cache is None or not cache.mag_ratios:
            raise InvalidInput("cache", "magcache needs magnitude ratios calibrated for this model; use fbcache")
        return replace(cache, method="magcache", threshold=0.06 if threshold is None else threshold)
    source = "First Block Cache (ParaAttention; diffusers FirstBlockCacheConfig): threshold chosen here, not calibrated"
    return StepCache("fbcache", 0.05 if threshold is None else threshold, source, mag_ratios=())


def parse_setting(value: str | None, cache: StepCache | None) -> StepCache | None:
    """The `--cache` setting applied to a preset's cache: None keeps it, "none" turns Balanced off, "METHOD" or
    "METHOD:THRESHOLD" (e.g. "fbcache:0.08") replaces it.

    Raises:
        InvalidInput: an unknown method or a threshold out of range (field "cache").
    """
    if value is None or not value.strip():
        return cache
    text = value.strip().lower()
    if text == "none":
        return None
    method_text, _, threshold_text = text.partition(":")
    method = check_method("cache", method_text)
    threshold = None
    if threshold_text:
        try:
            threshold = float(threshold_text)
        except ValueError:
            raise InvalidInput("cache", f"threshold {threshold_text!r} is not a number") from None
        check_threshold("cache", threshold)
    return with_method(cache, method, threshold)


def forwards_line(run: int, total: int) -> str:
    """E.g. "23 of 80 forwards skipped"."""
    return f"{total - run} of {total} forwards skipped"
