"""The client's model calls (the Models page): list, download and follow, use, delete from the cache."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from studio.client.connection import Connection


class ModelCalls(Connection):
    """StudioClient's model calls (issue 14)."""

    def models(self) -> list[dict[str, Any]]:
        """Every model the studio knows: downloaded or not (size on disk / total), loaded, next, any transfer."""
        return self._call("GET", "/api/v1/models")  # type: ignore[no-any-return]

    def model(self, key: str) -> dict[str, Any]:
        return self._call("GET", f"/api/v1/models/{key}")  # type: ignore[no-any-return]

    def download_model(self, key: str) -> dict[str, Any]:
        """Start fetching a hub model into the studio's cache; follow it with `wait_for_download`."""
        return self._call("POST", f"/api/v1/models/{key}/download")  # type: ignore[no-any-return]

    def wait_for_download(
        self,
        key: str,
        *,
        timeout: float = 24 * 3600.0,
        poll_s: float = 1.0,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Poll the model until its download ends (transfer phase "ready" or "failed"); returns the model."""
        deadline = time.monotonic() + timeout
        while True:
            model = self.model(key)
            transfer = model.get("transfer")
            if on_progress is not None and transfer is not None:
                on_progress(transfer)
            if transfer is None or transfer["phase"] in ("ready", "failed") or time.monotonic() > deadline:
                return model
            time.sleep(poll_s)

    def use_model(self, key: str) -> dict[str, Any]:
        """New jobs use `key`; the studio loads it in place of the resident model (queued jobs keep theirs)."""
        return self._call("POST", f"/api/v1/models/{key}/use")  # type: ignore[no-any-return]

    def delete_model(self, key: str) -> dict[str, Any]:
        """Remove a hub model from the studio's cache (refused while it is loaded or downloading)."""
        return self._call("DELETE", f"/api/v1/models/{key}/cache")  # type: ignore[no-any-return]
