"""Adding up the bytes of a download's files in flight into Transfer reports, and the tqdm class that feeds it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from studio.domain.downloads import Transfer

ProgressFn = Callable[[Transfer], None]
SPEED_WINDOW_S = 5.0  # the speed is measured over this many recent seconds


class Tracker:
    """Adds up the bytes of the files in flight and reports a Transfer at most ten times a second."""

    def __init__(self, model: str, *, total: int, files: int, cached: int, report: ProgressFn) -> None:
        self.model, self.total, self.files, self.cached, self.report = model, total, files, cached, report
        self.done = 0
        self.files_done = 0
        self.current: list[str] = []
        self.samples: list[tuple[float, int]] = [(time.monotonic(), 0)]
        self.last_report = 0.0
        self.lock = threading.Lock()
        self._emit(force=True)

    def bar_class(self, path: str) -> type:
        tracker = self

        class Bar:
            """What huggingface_hub's http_get needs of a tqdm bar: update(n) (negative when it restarts a file)."""

            def __init__(self, *args: object, **kwargs: object) -> None:
                self.n = 0

            def __enter__(self) -> Bar:
                return self

            def __exit__(self, *exc: object) -> None:
                pass

            def update(self, n: float | None = 1) -> None:
                self.n += int(n or 0)
                tracker.add(int(n or 0))

            def close(self) -> None:
                pass

        Bar.__name__ = f"Bar[{path}]"
        return Bar

    def start(self, path: str) -> None:
        with self.lock:
            self.current.append(path)
        self._emit(force=True)

    def end(self, path: str) -> None:
        with self.lock:
            self.current.remove(path)
            self.files_done += 1
        self._emit(force=True)

    def add(self, n: int) -> None:
        with self.lock:
            self.done += n
        self._emit()

    def finish(self) -> None:
        self._emit(force=True)

    def _emit(self, *, force: bool = False) -> None:
        now = time.monotonic()
        with self.lock:
            if not force and now - self.last_report < 0.1:
                return
            self.last_report = now
            self.samples.append((now, self.done))
            while len(self.samples) > 2 and now - self.samples[1][0] > SPEED_WINDOW_S:
                self.samples.pop(0)
            (t0, b0) = self.samples[0]
            speed = (self.done - b0) / (now - t0) if now - t0 > 0.2 else None
            transfer = Transfer(
                model=self.model,
                phase="downloading",
                done_bytes=self.done,
                total_bytes=self.total,
                speed_bps=speed,
                current_file=self.current[-1] if self.current else None,
                files_done=self.files_done,
                files_total=self.files,
                cached_bytes=self.cached,
            )
        self.report(transfer)
