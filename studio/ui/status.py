"""Status lines of the pages: a job's progress, the model's state, the resolved size, and who is asking."""

from __future__ import annotations

import gradio as gr

from studio.domain import geometry
from studio.domain.preset_types import Preset
from studio.domain.presets import PRESETS, REAL_PRESETS
from studio.services.job_view import JobView
from studio.services.studio import Studio
from studio.services.worker import ModelState
from studio.store.rows import JobStatus
from studio.ui.text import plain


def _format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f" · ETA {seconds:.0f} s" if seconds >= 1 else " · ETA <1 s"


def owner_of(request: gr.Request | None) -> str | None:
    """Who is using the page, for per-user limits: the login name, else the client address."""
    if request is None:
        return None
    if request.username:  # a UI user, or an API token through studio.api.guards ("token:…", as the API names it)
        name = str(request.username)
        return name if name.startswith("token:") else f"user:{name}"
    return f"ip:{request.client.host}" if request.client else None


def describe_job(view: JobView) -> str:
    """One status line for a job, e.g. "Step 3 / 10 · ETA 4 s"."""
    if view.status is JobStatus.QUEUED:
        ahead = (view.queue_position or 1) - 1
        line = f"Queued: {ahead} ahead of you" if ahead else "Queued: next up"
        return f"{line}: {view.waiting_for}" if view.waiting_for else line
    if view.status is JobStatus.RUNNING:
        if view.step == 0:
            return f"Running: encoding the prompt… (0 / {view.total_steps} steps)"
        if view.step >= view.total_steps:
            return f"Step {view.step} / {view.total_steps} · decoding and encoding the video…"
        return f"Step {view.step} / {view.total_steps}{_format_eta(view.eta_s)}"
    if view.status is JobStatus.SUCCEEDED:
        made = f"video #{view.video.id} (job {view.id})" if view.video is not None else f"job {view.id}"
        return f"Done: {made}, seed {view.recipe.seed}"  # one numbering first: the video's, as History shows it
    if view.status is JobStatus.CANCELED:
        return f"Canceled: job {view.id}"
    return f"{view.status.value.capitalize()}: {view.error}"


def model_status(studio: Studio) -> str:
    """The model line at the top of the Create page, with the public link when --share opened one."""
    model = studio.model_info()
    if model.state is ModelState.LOADING and model.transfer is not None and model.transfer.phase != "failed":
        line = f"⏳ {plain(model.transfer.describe())}. You can queue jobs now; they start when it is ready."
    elif model.state is ModelState.LOADING:
        line = f"⏳ Loading **{model.label}**… you can queue jobs now; they start when it is ready."
    elif model.state is ModelState.WAITING:
        line = f"⏳ Waiting for a worker that serves **{model.label}**: jobs queue now and start when one joins."
    elif model.state is ModelState.FAILED:
        line = f"❌ The model failed to load: {plain(model.error)}"
    else:
        loaded = f" (loaded in {model.load_s:.1f} s)" if model.load_s is not None else ""  # None: on fleet workers
        line = f"✅ **{model.label}** is ready{loaded}."
        if setup := model.pipeline.describe():
            line += f"  \n⚙️ {setup}"
    if model.next_model is not None and model.state is not ModelState.FAILED:
        line += f"  \n🔀 New jobs use **{plain(model.next_model)}**: the studio switches when the next job needs it."
    link = studio.public_link
    return f"{line}  \n🔗 Public link: {link}" if link else line


def resolved_summary(preset: Preset, aspect_ratio: str, quality: str, duration_s: float) -> str:
    """What the current choices resolve to, e.g. "96×160 · 49 frames · 16 fps · 3.1 s" (or what is wrong)."""
    try:
        width, height = geometry.size_for(preset, aspect_ratio, quality)
    except ValueError as exc:
        return str(exc)
    return geometry.describe(width, height, geometry.frames_for(preset, duration_s), preset.fps)


def preview_banner(preset: Preset) -> str:
    """The yellow banner of the CPU preview mode: what it is, and how to run a real model."""
    real = [PRESETS[key] for key in (*REAL_PRESETS, "wan2.2-i2v-a14b")]
    models = [
        f"<code>{p.key}</code> (≥ {p.min_gpu_gb:g} GB{', from an image' if p.image_required else ''})" for p in real
    ]
    return (
        "<div id='preview-banner'><strong>Preview mode</strong>: a tiny random-weight Wan "
        f"({preset.layout} layout) runs the real pipeline here, but its output is noise. For real videos, start it on "
        f"a GPU with <code>python app.py --model NAME</code>: {', '.join(models[:-1])} or {models[-1]}.</div>"
    )
