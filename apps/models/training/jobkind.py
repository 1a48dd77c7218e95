"""Registers the train_model job kind with apps.jobs (from apps.models.jobkinds.register)."""
from __future__ import annotations

from typing import Any

from apps.jobs.registry import JobContext, JobKind, register_kind

KIND = "train_model"


def _run(ctx: JobContext) -> dict[str, Any]:
    from .services import run_training  # torch is imported only when a worker trains

    return run_training(ctx)


def register() -> None:
    from .params import TrainModelParams

    # No on_abort: train() removes its partial folder itself and the package is registered last
    # (work_dir goes with the job), so a failed or cancelled job leaves no model behind.
    register_kind(JobKind(
        name=KIND, handler=_run, params=TrainModelParams, retryable=False, timeout_seconds=7 * 24 * 3600, queue="long",
        description="Train Deep Learning Model: a new model package from a training dataset",
    ))
