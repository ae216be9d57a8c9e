"""The models a studio can run: every preset and the one `--model` named, their cache state, downloads and deletes.

The Models page, the API and the model line read this; the worker reports its downloads and loads here (`report`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from studio.config import Settings
from studio.domain.downloads import Transfer
from studio.domain.errors import Conflict, NotFound
from studio.domain.preset_types import Preset
from studio.domain.presets import PRESETS
from studio.engine import downloads
from studio.services.model_switch import ModelState
from studio.services.updates import Updates
from studio.services.worker import Worker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelEntry:
    """One model as the Models page shows it."""

    key: str
    label: str
    source: str  # hub id, local folder, or "built on this machine" (tiny)
    gpu_gb: float  # smallest GPU that holds it resident (0: runs on the CPU)
    tiny: bool
    downloadable: bool  # a hub id: Download and Delete apply
    downloaded: bool  # complete in the cache (a local folder and a tiny model always are)
    size_bytes: int  # on disk now
    total_bytes: int | None  # the whole model (None: not known on this machine yet)
    missing: list[str]
    transfer: Transfer | None  # a download or load in progress (or its last failure)
    loaded: bool  # the worker holds it now
    next: bool  # the model new jobs are made for


class Models:
    """The catalogue and the transfers in flight; one per studio."""

    def __init__(self, settings: Settings, *, own: Preset, updates: Updates) -> None:
        self.record_dir: Path = settings.models_dir / "downloads"
        self.updates = updates
        self.compiled = settings.compile  # every model runs compiled under --compile (no Balanced there)
        self.extra: dict[str, Preset] = {} if own.key in PRESETS and PRESETS[own.key] == own else {own.key: own}
        self.transfers: dict[str, Transfer] = {}
        self._logged: dict[str, int] = {}  # model -> last decile written to the log
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    # -- the catalogue -----------------------------------------------------------------------------

    def presets(self) -> list[Preset]:
        others = (replace(p, compiled=self.compiled) for key, p in PRESETS.items() if key not in self.extra)
        return [*self.extra.values(), *others]

    def get(self, key: str) -> Preset:
        """Raises NotFound (field "model") for a key the studio does not know."""
        for preset in self.presets():
            if preset.key == key:
                return preset
        choices = ", ".join(p.key for p in self.presets())
        raise NotFound("model", f"no model {key!r}; the studio knows: {choices}")

    def entry(self, key: str, *, loaded: str | None, next_model: str | None) -> ModelEntry:
        preset = self.get(key)
        remote = _hub_id(preset)
        if remote is None:
            present, total, missing, complete = 0, None, [], True
        else:
            state = downloads.cache_state(remote, preset.revision, record_dir=self.record_dir)
            present, total, missing, complete = state.present_bytes, state.total_bytes, state.missing, state.complete
        return ModelEntry(
            key=preset.key,
            label=preset.label,
            source=preset.source or "built on this machine (random weights)",
            gpu_gb=preset.min_gpu_gb,
            tiny=preset.tiny,
            downloadable=remote is not None,
            downloaded=complete,
            size_bytes=present,
            total_bytes=total,
            missing=missing,
            transfer=self.transfers.get(key),
            loaded=key == loaded,
            next=key == next_model,
        )

    def live_entry(self, key: str, *, worker: Worker | None, next_model: str) -> ModelEntry:
        """`entry` as the studio shows it, the worker's own load included (Studio.model_entry).

        Raises NotFound (field "model") for an unknown key.
        """
        entry = self.entry(key, loaded=worker.model if worker is not None else None, next_model=next_model)
        transfer = entry.transfer
        if transfer is None or transfer.phase in ("ready", "failed") or self.downloading(key):
            return entry
        # A transfer of the worker's own load: live while it loads, its failure once it failed, gone once it ended
        if entry.loaded and worker is not None and worker.state is ModelState.LOADING:
            return entry
        if entry.loaded and worker is not None and worker.state is ModelState.FAILED:
            failed = dataclasses.replace(transfer, phase="failed", message=worker.load_error)
            return dataclasses.replace(entry, transfer=failed)
        return dataclasses.replace(entry, transfer=None)

    def downloaded_keys(self) -> list[str]:
        """Models that can load without the network (tiny, local folders, complete in the cache)."""
        return [p.key for p in self.presets() if self.entry(p.key, loaded=None, next_model=None).downloaded]

    # -- transfers ---------------------------------------------------------------------------------

    def report(self, transfer: Transfer) -> None:
        """A download or load moved: kept for the page and /health, written to the log every 10 %."""
        self.transfers[transfer.model] = transfer
        fraction = transfer.fraction
        decile = -1 if fraction is None else int(fraction * 10)
        key = f"{transfer.model}:{transfer.phase}"
        if transfer.phase in ("downloading", "loading") and decile != self._logged.get(key):
            self._logged[key] = decile
            log.info("%s", transfer.describe())
        self.updates.announce()

    def download(self, key: str) -> Transfer:
        """Start fetching a model into the cache in the background; the transfer says how far it got.

        Raises:
            NotFound: no such model. Conflict: not a hub model, or already downloading.
        """
        preset = self.get(key)
        remote = _hub_id(preset)
        if remote is None:
            raise Conflict("model", f"{key} is not on the hub (a tiny model or a local folder): nothing to download")
        with self._lock:
            if (thread := self._threads.get(key)) is not None and thread.is_alive():
                raise Conflict("model", f"{key} is already downloading")
            self.transfers[key] = Transfer(model=key, phase="checking")
            thread = threading.Thread(target=self._fetch, args=(preset, remote), name=f"download-{key}", daemon=True)
            self._threads[key] = thread
        thread.start()
        return self.transfers[key]

    def downloading(self, key: str) -> bool:
        thread = self._threads.get(key)
        return thread is not None and thread.is_alive()

    def _fetch(self, preset: Preset, remote: str) -> None:
        try:
            downloads.fetch(
                remote, preset.revision, model=preset.key, record_dir=self.record_dir, on_progress=self.report
            )
            self.report(Transfer(model=preset.key, phase="ready", message="downloaded"))
        except downloads.WeightsUnavailable as exc:
            self.report(Transfer(model=preset.key, phase="failed", message=exc.message))
        except Exception as exc:
            log.exception("download of %s failed", preset.key)
            self.report(Transfer(model=preset.key, phase="failed", message=f"{type(exc).__name__}: {exc}"))

    def delete(self, key: str, *, loaded: str | None) -> int:
        """Remove a model's weights from the cache; returns the bytes freed.

        Raises:
            NotFound: no such model. Conflict: it is loaded, downloading, or not a hub model.
        """
        preset = self.get(key)
        remote = _hub_id(preset)
        if remote is None:
            raise Conflict("model", f"{key} is not in the hub cache (a tiny model or a local folder)")
        if key == loaded:
            raise Conflict("model", f"{key} is loaded: use another model first, then delete it")
        if self.downloading(key):
            raise Conflict("model", f"{key} is downloading: wait for it to end, then delete it")
        freed = downloads.delete(remote)
        self.transfers.pop(key, None)
        log.info("deleted %s from the cache (%d bytes)", key, freed)
        self.updates.announce()
        return freed


def _hub_id(preset: Preset) -> str | None:
    """The hub repo of a preset, or None for a tiny model or a local folder."""
    if preset.tiny or preset.source is None or Path(preset.source).expanduser().is_dir():
        return None
    return preset.source
