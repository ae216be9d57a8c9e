"""A model's weights on their way to the GPU, as one value: what the model line, /health, the log and the terminal show.

Pure rules only (the numbers and their wording); studio.engine.downloads does the fetching and fills these in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Phase = Literal["checking", "downloading", "loading", "ready", "failed"]


@dataclass(frozen=True)
class Transfer:
    """One model's download (or load onto the device) at one moment."""

    model: str  # the preset key (or hub id / folder) the weights belong to
    phase: Phase
    done_bytes: int = 0
    total_bytes: int = 0  # of the files still to fetch when the download started (cached ones are not counted)
    speed_bps: float | None = None  # bytes per second over the last few seconds
    current_file: str | None = None  # the file being fetched (downloading) or the component being loaded (loading)
    files_done: int = 0
    files_total: int = 0
    cached_bytes: int = 0  # already in the cache when the download started
    message: str | None = None  # why it failed, or what it is doing in words
    steps: list[str] = field(default_factory=list)  # loading: the components loaded so far

    @property
    def fraction(self) -> float | None:
        """0..1 of the bytes (downloading) or components (loading); None while it is not known."""
        if self.phase == "ready":
            return 1.0
        if self.phase == "loading" and self.files_total:
            return min(1.0, self.files_done / self.files_total)
        if self.total_bytes <= 0:
            return None
        return min(1.0, self.done_bytes / self.total_bytes)

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the current speed (downloading only)."""
        if self.phase != "downloading" or not self.speed_bps or self.total_bytes <= 0:
            return None
        return max(0.0, (self.total_bytes - self.done_bytes) / self.speed_bps)

    def describe(self) -> str:
        """One line, e.g. "Downloading 1.2 GB / 34.0 GB (3 %) · 45.0 MB/s · ETA 12 min · transformer/…safetensors"."""
        if self.phase == "checking":
            return f"Checking the files of {self.model}…"
        if self.phase == "failed":
            return f"{self.model}: {self.message or 'failed'}"
        if self.phase == "ready":
            return f"{self.model}: {self.message or 'ready'}"
        if self.phase == "loading":
            done = f"{self.files_done} / {self.files_total} components" if self.files_total else "components"
            now = f" · {self.current_file}" if self.current_file else ""
            return f"Loading {self.model} onto the device: {done}{now}"
        parts = [f"Downloading {self.model}: {format_bytes(self.done_bytes)} / {format_bytes(self.total_bytes)}"]
        if (fraction := self.fraction) is not None:
            parts[0] += f" ({fraction * 100:.0f} %)"
        if self.speed_bps:
            parts.append(f"{format_bytes(self.speed_bps)}/s")
        if (eta := self.eta_s) is not None:
            parts.append(f"ETA {format_seconds(eta)}")
        if self.files_total:
            parts.append(f"file {min(self.files_done + 1, self.files_total)} of {self.files_total}")
        if self.current_file:
            parts.append(self.current_file)
        return " · ".join(parts)


def format_bytes(count: float) -> str:
    """Decimal units as the hub shows them: 999 B, 1.2 kB, 34.0 MB, 126.4 GB."""
    value = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"  # pragma: no cover - the loop always returns


def format_seconds(seconds: float) -> str:
    """ "<1 s", "42 s", "12 min", "1 h 05 min"."""
    if seconds < 1:
        return "<1 s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def not_enough_space(*, missing_bytes: int, free_bytes: int, cache: str, model: str) -> str:
    """The disk check's refusal, naming both figures and the cache path."""
    return (
        f"not enough disk space to download {model}: {format_bytes(missing_bytes)} still to fetch, but only "
        f"{format_bytes(free_bytes)} free in the Hugging Face cache at {cache}. Free some space, or point HF_HOME "
        "(or HF_HUB_CACHE) at a larger disk; nothing was downloaded."
    )


def offline_message(*, model: str, repo_id: str, missing: list[str], cache: str) -> str:
    """What to do when the weights are not in the cache and the hub cannot be reached."""
    shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
    return (
        f"{model}: the weights of {repo_id} are not in the cache at {cache} and the hub cannot be reached "
        f"(offline). Missing: {shown}. Ways out: (1) run `python app.py download {model}` on a connected machine "
        "and copy or mount its Hugging Face cache (HF_HOME) here; (2) mount an existing cache at HF_HOME; "
        "(3) pass a local diffusers folder of the model with --model /path/to/folder."
    )
