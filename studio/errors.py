"""What an error may tell a client: its kind and message, without the server's file paths or a traceback."""

from __future__ import annotations

import re

MAX_MESSAGE = 300
# An absolute path (POSIX or Windows), up to the next space or quote: only its last part is kept.
_PATH = re.compile(r"""(?:(?<=[\s'"(=:])|^)(?:/|[A-Za-z]:\\)[^\s'"]*""")


def without_paths(text: str) -> str:
    """`text` with every absolute path cut to its file name ("/srv/data/media/videos/3.mp4" → "…/3.mp4")."""
    return _PATH.sub(lambda m: "…/" + re.split(r"[/\\]", m.group(0).rstrip("/\\"))[-1], text)


def public_message(exc: BaseException) -> str:
    """One line for a job's error or a toast: "<Kind>: <message>", paths cut, at most MAX_MESSAGE characters."""
    message = " ".join(without_paths(str(exc)).split())
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"
