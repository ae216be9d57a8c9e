"""Controls whose typed values reach the validator, so a refusal is worded by `build_recipe` on the control.

Gradio's Slider refuses a value typed outside its bounds while preprocessing, before any validator runs: the page
shows a bare red "Error" and the server logs a traceback for what is only a person's typo.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from gradio.components.number import Number


def slider(**kwargs: Any) -> gr.Slider:
    """gr.Slider whose typed value is passed on even when out of range (the recipe's checks answer it, in words).

    An instance override, not a subclass: Gradio writes a .pyi stub beside every module that subclasses a component.
    """
    control = gr.Slider(**kwargs)

    def preprocess(payload: float) -> float:
        return float(Number.round_to_precision(payload, control.precision))

    control.preprocess = preprocess  # type: ignore[method-assign]
    return control
