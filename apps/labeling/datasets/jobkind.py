"""Registers the export_training_data job kind with apps.jobs (called from LabelingConfig.ready)."""
from __future__ import annotations

from typing import Any

from apps.jobs.registry import JobContext, JobKind, ValidationContext, register_kind

KIND = "export_training_data"


def _validate(params: dict[str, Any], ctx: ValidationContext) -> dict[str, Any]:
    from .params import clean_export_params

    return clean_export_params(params, ctx.project_id)


def _run(ctx: JobContext) -> dict[str, Any]:
    from .export import run_export

    return run_export(ctx)


def _abort(job: Any) -> None:
    from .export import export_aborted

    export_aborted(job)


def register() -> None:
    from .signals import connect

    connect()
    register_kind(JobKind(
        name=KIND, handler=_run, validate=_validate, on_abort=_abort, retryable=True,
        timeout_seconds=24 * 3600,
        description="Export Training Data For Deep Learning: image chips and labels in ArcGIS formats",
    ))
