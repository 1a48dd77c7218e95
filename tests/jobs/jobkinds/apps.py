from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.apps import AppConfig

from rest_framework import serializers

from apps.jobs.params import JobParams, Number, Passthrough, Whole
from backend.engine.errors import Cancelled


class CountParams(JobParams):
    reject_unknown = False
    steps = Whole(min_value=1, max_value=10000, default=5)
    delay = Number(min_value=0.0, default=0.05)
    fail_at = Passthrough(required=False, default=None)
    marker_dir = serializers.CharField(required=False, allow_null=True, default=None)
    processor_type = serializers.CharField(required=False, default="CPU")


def _count(ctx: Any) -> dict[str, Any]:
    """Counts to `steps`, sleeping `delay` each step; writes a partial file that cleanup removes."""
    marker_dir = Path(ctx.params["marker_dir"]) if ctx.params.get("marker_dir") else None
    if marker_dir:
        (marker_dir / f"started-{ctx.job_id}-{ctx.attempt}").write_text("x")
        (marker_dir / f"partial-{ctx.job_id}").write_text("partial")
    for step in range(1, ctx.params["steps"] + 1):
        if ctx.should_stop():
            raise Cancelled()
        if ctx.params.get("fail_at") == step:
            raise ValueError(f"boom at step {step}")
        time.sleep(ctx.params["delay"])
        ctx.progress(step, ctx.params["steps"], f"step {step}")
    ctx.log("counted")
    return {"counted": ctx.params["steps"]}


def _write_rows(ctx: Any) -> dict[str, Any]:
    """One row per step, and a file in its work folder: a retry must start with that folder empty."""
    from .models import WrittenRow

    leftovers = sorted(p.name for p in ctx.work_dir.iterdir())
    if leftovers:
        raise ValueError(f"work folder {ctx.work_dir} is not empty: {leftovers}")
    (ctx.work_dir / "partial.out").write_text("partial")
    marker_dir = Path(ctx.params["marker_dir"]) if ctx.params.get("marker_dir") else None
    if marker_dir:
        (marker_dir / f"started-{ctx.job_id}-{ctx.attempt}").write_text("x")
    for step in range(1, ctx.params["steps"] + 1):
        if ctx.should_stop():
            raise Cancelled()
        WrittenRow.objects.create(job_id=ctx.job_id, step=step)
        time.sleep(ctx.params["delay"])
        ctx.progress(step, ctx.params["steps"], f"row {step}")
        ctx.log(f"row {step}")
    return {"rows": ctx.params["steps"]}


def _abort(job: Any) -> None:
    marker_dir = job.params.get("marker_dir")
    if marker_dir:
        (Path(marker_dir) / f"partial-{job.pk}").unlink(missing_ok=True)


class TestJobKindsConfig(AppConfig):
    name = "tests.jobs.jobkinds"
    label = "test_jobkinds"

    def ready(self) -> None:
        from apps.jobs.registry import JobKind, register_kind

        register_kind(JobKind(name="test_count", handler=_count, params=CountParams, on_abort=_abort))
        register_kind(JobKind(name="test_count_retry", handler=_count, params=CountParams, on_abort=_abort,
                              retryable=True))
        register_kind(JobKind(name="test_rows", handler=_write_rows, params=CountParams, retryable=True))
        # Long work goes to the "long" queue, like training and inference.
        register_kind(JobKind(name="test_count_long", handler=_count, params=CountParams, on_abort=_abort,
                              queue="long"))
