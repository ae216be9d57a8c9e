"""Python client for the studio's REST API.

    from studio.client import StudioClient

    with StudioClient("http://127.0.0.1:7860", token="...") as studio:
        job = studio.submit("a paper boat on a rainy street", aspect_ratio="9:16", duration_s=3)
        job = studio.wait(job.id, on_progress=lambda j: print(j.step, "/", j.total_steps))
        studio.download(job.video_id, "boat.mp4")

Only httpx is needed; the client does not import torch, diffusers or gradio.
"""

from studio.client.connection import StudioError
from studio.client.job import FINAL, Job
from studio.client.studio_client import StudioClient

__all__ = ["FINAL", "Job", "StudioClient", "StudioError"]
