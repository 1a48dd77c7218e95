"""Registers the export_training_data job kind with apps.jobs (called from LabelingConfig.ready)."""
from __future__ import annotations

from typing import Any

from apps.jobs.registry import JobContext, JobKind, register_kind

KIND = "export_training_data"


def _run(ctx: JobContext) -> dict[str, Any]:
    from .export import run_export

    return run_export(ctx)


def _abort(job: Any) -> None:
    from .export import export_aborted

    export_aborted(job)


def register() -> None:
    from .params import ExportTrainingDataParams
    from .signals import connect

    connect()
    register_kind(JobKind(
        name=KIND, handler=_run, params=ExportTrainingDataParams, on_abort=_abort, retryable=True,
        timeout_seconds=24 * 3600,
        description="Export Training Data For Deep Learning: image chips and labels in ArcGIS formats",
    ))
