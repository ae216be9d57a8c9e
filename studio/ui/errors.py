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


def toast(exc: Refused) -> gr.Error:
    """A refusal as Gradio's error toast (raise it from the handler)."""
    return gr.Error(str(exc))


def note(exc: Refused) -> str:
    """A refusal as a warning line in a panel's Markdown (the message shown as typed)."""
    return f"⚠️ {plain(exc)}"


def on_controls(exc: InvalidInput | None, fields: Sequence[str]) -> list[dict[str, Any]]:
    """One gr.validate per input, in order: the message on the control of the field at fault (it is labelled, so the
    message leaves the field's name out), every other control clean."""
    bad = exc.field if exc is not None else None
    message = exc.message if exc is not None else ""
    return [gr.validate(name != bad, message if name == bad else "") for name in fields]
