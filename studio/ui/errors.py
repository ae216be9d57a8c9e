"""The one place the UI turns the error family (studio.domain.errors) into what a person sees.

A field's problem goes on its own control before anything is queued (`on_controls`, Gradio's validator); any other
refusal is a toast (`toast`) or a line under the panel the person is working in (`note`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gradio as gr

from studio.domain.errors import InvalidInput, Refused
from studio.ui.text import plain


def sentence(exc: Refused) -> str:
    """A refusal worded for a person: its message, led by the field's name in words when the message is not a
    sentence of its own ("Duration: must be from 0.31 to 5.06 s; …"), never the code name (`duration_s: …`) that
    the API's bodies carry."""
    message = exc.message
    if not exc.field or message[:1].isupper():
        return message
    return f"{field_words(exc.field)}: {message}"


def field_words(field: str) -> str:
    """`end_s` → "End", `job_id` → "Job", `negative_prompt` → "Negative prompt"."""
    for suffix in ("_s", "_id", "_ids"):
        if field.endswith(suffix):
            field = field[: -len(suffix)]
    return field.replace("_", " ").capitalize()


def toast(exc: Refused) -> gr.Error:
    """A refusal as Gradio's error toast (raise it from the handler)."""
    return gr.Error(sentence(exc))


def note(exc: Refused) -> str:
    """A refusal as a warning line in a panel's Markdown (the message shown as typed)."""
    return f"⚠️ {plain(sentence(exc))}"


def warn(exc: InvalidInput, labels: dict[str, str]) -> None:
    """A field's problem as a warning toast that names the field ("Seed must be …"), next to its control's message:
    the control may be out of sight (below the fold, in a closed accordion) when the person presses Generate."""
    label = labels.get(exc.field or "", exc.field or "")
    gr.Warning(f"{label} {exc.message}" if label else exc.message)


def on_controls(exc: InvalidInput | None, fields: Sequence[str]) -> list[dict[str, Any]]:
    """One gr.validate per input, in order: the message on the control of the field at fault (it is labelled, so the
    message leaves the field's name out), every other control clean."""
    bad = exc.field if exc is not None else None
    message = exc.message if exc is not None else ""
    return [gr.validate(name != bad, message if name == bad else "") for name in fields]
