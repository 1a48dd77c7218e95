"""The inference job kinds, registered with apps.jobs by apps.models.jobkinds.register()."""
from __future__ import annotations

from typing import Any

from apps.jobs.registry import JobContext, JobKind, register_kind


def _lazy(module: str, name: str) -> Any:
    """Handlers import torch and the engine only when a worker runs them."""

    def call(*args: Any) -> Any:
        import importlib

        return getattr(importlib.import_module(f"apps.models.inference.{module}"), name)(*args)

    return call


def register() -> None:
    from . import params

    abort = _lazy("services", "abort_job")
    # Model inference runs on the "long" queue; NMS over a layer takes seconds, like other short work.
    for name, handler, declared, queue, description in (
        ("detect_objects", "detect_objects_job", params.DetectObjectsParams, "long",
         "Detect objects in a raster with a deep learning model (a detections layer)"),
        ("classify_pixels", "classify_pixels_job", params.ClassifyPixelsParams, "long",
         "Classify the pixels of a raster with a deep learning model (a classified raster)"),
        ("classify_objects", "classify_objects_job", params.ClassifyObjectsParams, "long",
         "Classify the features of a layer with a deep learning model (a new layer)"),
        ("non_max_suppression", "nms_job", params.NonMaxSuppressionParams, "default",
         "Remove overlapping duplicates from a detections layer (a new layer)"),
    ):
        register_kind(JobKind(name=name, handler=_lazy("services", handler), params=declared,
                              on_abort=abort, timeout_seconds=24 * 3600, queue=queue, description=description))
    register_kind(JobKind(name="inference_part", handler=_run_part, params=params.InferencePartParams,
                          queue="long", internal=True,
                          description="One part of a detect_objects or classify_pixels job"))


def _run_part(ctx: JobContext) -> dict[str, Any]:
    from .parts import run_part_job

    return run_part_job(ctx)
