"""The studio's one error family, and what an error may tell a client.

Every module raises one of these when it refuses an operation; each surface translates them in one place
(studio.api.errors: an HTTP status with `{field, message}`; studio.ui.errors: a message on the control, or a toast).

    Refused            anything the studio refuses, with `field` (None when no single field is at fault) and `message`
    ├─ InvalidInput    a value is wrong: names the field and what is allowed          → 422
    ├─ NotFound        no such job, video, group or link                               → 404
    ├─ Conflict        the thing is in the wrong state for it (e.g. retrying a success) → 409
    ├─ Limited         over a limit for now; `retry_after_s` says when to try again   → 429
    └─ Unavailable     the studio cannot do it at the moment                           → 503
       └─ OutOfSpace   the media disk is nearly full                                   → 507
"""

from __future__ import annotations

import re

MAX_MESSAGE = 300
# An absolute path (POSIX or Windows), up to the next space or quote: only its last part is kept.
_PATH = re.compile(r"""(?:(?<=[\s'"(=:])|^)(?:/|[A-Za-z]:\\)[^\s'"]*""")


class Refused(Exception):
    """The studio refuses an operation: `message` says why and what to do, `field` names the input at fault."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class InvalidInput(Refused, ValueError):
    """A value is wrong; the message gives what is allowed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message)


class NotFound(Refused, LookupError):
    """No such thing (a job, a video, a comparison group, a share link)."""


class Conflict(Refused):
    """The thing exists but is in a state that does not allow the operation."""


class Limited(Refused):
    """Over a limit (the queue, a user's jobs, edits per hour, failed logins); try again after `retry_after_s`."""

    def __init__(self, message: str, retry_after_s: int, *, field: str | None = None) -> None:
        super().__init__(field, f"{message}; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class Unavailable(Refused):
    """The studio cannot do this now (a feature that is not loaded, a resource that ran out)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(field, message)


class OutOfSpace(Unavailable):
    """The media disk is nearly full: no new job or edit until space is freed."""


def without_paths(text: str) -> str:
    """`text` with every absolute path cut to its file name ("/srv/data/media/videos/3.mp4" → "…/3.mp4")."""
    return _PATH.sub(lambda m: "…/" + re.split(r"[/\\]", m.group(0).rstrip("/\\"))[-1], text)


def public_message(exc: BaseException) -> str:
    """One line for a job's error or a toast: "<Kind>: <message>", paths cut, at most MAX_MESSAGE characters."""
    message = " ".join(without_paths(str(exc)).split())
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"
