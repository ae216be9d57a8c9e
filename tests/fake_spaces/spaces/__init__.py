"""A stand-in for Hugging Face's `spaces` package on ZeroGPU hardware, for the simulated ZeroGPU tests.

Like spaces 0.51.3 there (zero/wrappers.py), `GPU(duration=...)` runs the function in a forked process, pickles its
result back, and asks a callable duration with the function's own arguments. What the child changes in memory stays
in the child. `calls` records, in the parent, each call's arguments, seconds asked for and start/end times.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import time
from collections.abc import Callable
from typing import Any

calls: list[dict[str, Any]] = []
CHILD_TIMEOUT_S = 30


def GPU(duration: int | Callable[..., int] = 60) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(function: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            seconds = duration(*args) if callable(duration) else duration
            call: dict[str, Any] = {"args": args, "seconds": seconds, "start": time.monotonic()}
            context = multiprocessing.get_context("fork")
            receiver, sender = context.Pipe(duplex=False)

            def child() -> None:
                # A child stuck on a lock inherited from the parent's threads prints where, and ends the test's wait.
                faulthandler.dump_traceback_later(CHILD_TIMEOUT_S, exit=True)
                try:
                    sender.send(("ok", function(*args)))
                except BaseException as exc:
                    sender.send(("error", repr(exc)))

            process = context.Process(target=child)
            process.start()
            sender.close()  # the child holds the write end now: its death ends recv() with EOFError
            try:
                status, value = receiver.recv()
            except EOFError:
                status, value = "error", f"the GPU process exited with {process.exitcode}"
            process.join(60)
            call["end"] = time.monotonic()
            calls.append(call)
            if status == "error":
                raise RuntimeError(value)
            return value

        return run

    return wrap
