"""The export_onnx job kind, registered with apps.jobs by apps.models.jobkinds.register()."""
from __future__ import annotations

from typing import Any

from apps.jobs.registry import JobContext, JobKind, register_kind

KIND = "export_onnx"


def _run(ctx: JobContext) -> dict[str, Any]:
    from .services import export_onnx_job  # torch and onnx only on a worker

    return export_onnx_job(ctx)


def register() -> None:
    from .params import ExportOnnxParams

    # The new package is registered last, from the job's scratch folder: a failed export leaves nothing.
    register_kind(JobKind(name=KIND, handler=_run, params=ExportOnnxParams, retryable=True, queue="default",
                          timeout_seconds=3600,
                          description="Export a model package to ONNX (checked against the PyTorch model)"))
