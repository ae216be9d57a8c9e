"""Loading a pipeline's weights onto the device, component by component, as Transfer reports.

diffusers' `from_pretrained` logs "Loaded <name> as <class> …" (INFO, logger diffusers.pipelines.pipeline_utils) after
each component; while a load runs, a handler on that logger turns those lines into progress. The logger is quieted
again afterwards, and its lines never reach the console.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from studio.domain.downloads import Transfer

PIPELINE_LOGGER = "diffusers.pipelines.pipeline_utils"


def components(folder: Path) -> list[str]:
    """The components model_index.json names (what from_pretrained loads one by one)."""
    index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    return [k for k, v in index.items() if not k.startswith("_") and isinstance(v, list) and v[0] is not None]


class _Loaded(logging.Handler):
    def __init__(self, model: str, total: int, report: Callable[[Transfer], None]) -> None:
        super().__init__(logging.INFO)
        self.model, self.total, self.report = model, total, report
        self.done: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Loaded "):
            self.done.append(message.split()[1])
            self.report(self._transfer(self.done[-1]))

    def _transfer(self, current: str | None) -> Transfer:
        return Transfer(
            model=self.model,
            phase="loading",
            files_done=len(self.done),
            files_total=self.total,
            current_file=current,
            steps=list(self.done),
        )


@contextlib.contextmanager
def component_progress(folder: Path, model: str, report: Callable[[Transfer], None] | None) -> Iterator[None]:
    """Report each component of `folder` as from_pretrained loads it (nothing when `report` is None)."""
    if report is None:
        yield
        return
    handler = _Loaded(model, len(components(folder)), report)
    logger = logging.getLogger(PIPELINE_LOGGER)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # diffusers' own console handler is on its parent: keep these lines off the console
    report(handler._transfer(None))
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
