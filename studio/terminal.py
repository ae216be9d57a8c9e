"""The terminal's progress bar for `app.py download` (tqdm, as huggingface_hub's own bars)."""

from __future__ import annotations

from tqdm.auto import tqdm

from studio.domain.downloads import Transfer


class TerminalBar:
    """Follows a model's Transfer reports: bytes done / total, speed and ETA (tqdm's), and the file being fetched."""

    def __init__(self) -> None:
        self.last: Transfer | None = None
        self._bar: tqdm | None = None

    def update(self, transfer: Transfer) -> None:
        self.last = transfer
        if transfer.phase != "downloading" or transfer.total_bytes <= 0:
            return
        if self._bar is None:
            self._bar = tqdm(
                total=transfer.total_bytes, unit="B", unit_scale=True, unit_divisor=1000, desc=transfer.model
            )
        self._bar.update(transfer.done_bytes - self._bar.n)
        if transfer.current_file:
            self._bar.set_postfix_str(transfer.current_file, refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
