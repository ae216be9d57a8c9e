"""Prometheus metrics: job and step durations, model load, GPU memory, errors, and the queue as the database sees it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from studio.domain.recipe import Recipe
from studio.store.rows import JobStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STEP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60)
JOB_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1200, 2400)


def resolution(recipe: Recipe) -> str:
    return f"{recipe.width}x{recipe.height}"


class _QueueCollector(Collector):
    """Reads job counts at scrape time, so every process sharing the database reports the same numbers."""

    def __init__(
        self, counts: Callable[[], dict[JobStatus, int]], by_model: Callable[[], dict[str, int]] | None = None
    ) -> None:
        self._counts = counts
        self._by_model = by_model

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self._counts()
        by_status = GaugeMetricFamily("studio_jobs", "Jobs in the database by status", labels=["status"])
        for status in JobStatus:
            by_status.add_metric([status.value], counts.get(status, 0))
        yield by_status
        yield GaugeMetricFamily("studio_queue_depth", "Jobs waiting to run", value=counts.get(JobStatus.QUEUED, 0))
        if self._by_model is not None:
            per_model = GaugeMetricFamily("studio_queue_depth_by_model", "Jobs waiting, per model", labels=["model"])
            for model, count in sorted(self._by_model().items()):
                per_model.add_metric([model], count)
            yield per_model


class _GpuCollector(Collector):
    """GPU memory of this process, when torch is loaded and CUDA is available."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        torch = sys.modules.get("torch")
        if torch is None or not torch.cuda.is_available():
            return
        family = GaugeMetricFamily("studio_gpu_memory_bytes", "CUDA memory held by tensors", labels=["kind"])
        family.add_metric(["in_use"], torch.cuda.memory_allocated())
        family.add_metric(["peak"], torch.cuda.max_memory_allocated())
        yield family


class Metrics:
    """One registry per Studio (not the global one), so several studios in one process never collide."""

    def __init__(
        self,
        job_counts: Callable[[], dict[JobStatus, int]],
        queued_by_model: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        labels = ["model", "resolution"]
        self.job_seconds = Histogram(
            "studio_job_seconds", "Run time of finished jobs", labels, buckets=JOB_BUCKETS, registry=self.registry
        )
        self.step_seconds = Histogram(
            "studio_step_seconds", "Seconds per denoising step", labels, buckets=STEP_BUCKETS, registry=self.registry
        )
        self.model_load_seconds = Gauge("studio_model_load_seconds", "Model load time", registry=self.registry)
        self.errors = Counter("studio_errors", "Failed jobs by kind", ["kind"], registry=self.registry)
        self.registry.register(_QueueCollector(job_counts, queued_by_model))
        self.registry.register(_GpuCollector())

    def observe_step(self, recipe: Recipe, seconds: float) -> None:
        self.step_seconds.labels(recipe.model, resolution(recipe)).observe(seconds)

    def observe_job(self, recipe: Recipe, seconds: float) -> None:
        self.job_seconds.labels(recipe.model, resolution(recipe)).observe(seconds)

    def count_error(self, kind: str) -> None:
        self.errors.labels(kind).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
