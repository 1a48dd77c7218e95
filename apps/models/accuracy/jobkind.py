"""The compute_accuracy job kind, registered with apps.jobs by apps.models.jobkinds.register()."""
from __future__ import annotations

from typing import Any

from apps.jobs.registry import JobContext, JobKind, register_kind

KIND = "compute_accuracy"


def _run(ctx: JobContext) -> dict[str, Any]:
    from .services import compute_accuracy_job

    return compute_accuracy_job(ctx)


def _abort(job: Any) -> None:
    from .services import abort_job

    abort_job(job)


def register() -> None:
    from .params import ComputeAccuracyParams

    # Seconds even on 100k features (bench/accuracy.py): short work, and safe to run again.
    register_kind(JobKind(name=KIND, handler=_run, params=ComputeAccuracyParams, on_abort=_abort, retryable=True,
                          queue="default", timeout_seconds=3600,
                          description="Score a detections layer or classified raster against ground truth"))
