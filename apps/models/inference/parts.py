"""Tiled jobs across workers: a parent plans parts, runs them as child jobs, and merges.

Each part is an ``inference_part`` child job on the parent's queue, so any worker on that queue can
take it. The parent does not just wait: it claims still-queued parts itself (the same conditional
``UPDATE ... status queued -> running`` as apps.jobs.runner), so a single worker never deadlocks
waiting for a part that only it could run. Part outputs go to ``DATA_DIR/jobs/<parent>/parts/``
(the parent's scratch folder, on storage every worker shares).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from django.conf import settings
from django.utils import timezone

from apps.jobs.events import broadcast_job
from apps.jobs.models import FINISHED_STATUSES, Job, JobStatus
from apps.jobs.progress import beating
from apps.jobs.registry import JobContext
from apps.jobs.services import job_start
from apps.labeling.storage import raster_cog_path
from apps.models.package_models import ModelPackage
from apps.models.packages.runtimes import torchscript_allowed
from apps.models.packages.services import model_extracted_dir
from backend.engine.dlpk.emd import parse_emd
from backend.engine.errors import Cancelled, EngineInputError
from backend.engine.inference.batching import PartResult
from backend.engine.inference.classify_pixels import ClassifyPixelsArgs, classify_pixels_part
from backend.engine.inference.detect import DetectArgs, detect_objects_part
from backend.engine.inference.planning import input_scale_of, plan_inference, resolve_tiles
from backend.engine.inference.tiling import PartSpec
from backend.engine.nets.predictor import Predictor, band_indices, chip_size_of
from backend.engine.runtimes.loader import load_any_predictor

from .inputs import raster_ids

PART_KIND = "inference_part"
MERGE_SHARE = 0.1  # of the parent's progress bar kept for the merge and the output
POLL_SECONDS = 0.25
CHILD_WRITE_SECONDS = 1.0

_cache_lock = threading.Lock()
_cached: tuple[tuple[Any, ...], Predictor] | None = None


# models ------------------------------------------------------------------------------------------
def device_for(processor_type: str) -> str:
    if processor_type != "GPU":
        return "cpu"
    if not torch.cuda.is_available():
        raise EngineInputError("processor_type is GPU but this worker has no CUDA device; run a GPU worker "
                               "(`manage.py rqworker gpu`) on a machine with one, or choose CPU.")
    return "cuda"


def predictor_for(model_id: int, processor_type: str) -> Predictor:
    """The package's predictor; the last one stays loaded (a worker runs many parts of one job)."""
    global _cached
    package = ModelPackage.objects.get(pk=model_id)
    device = device_for(processor_type)
    key = (package.pk, package.sha256, package.updated_at, device)
    with _cache_lock:
        if _cached is not None and _cached[0] == key:
            return _cached[1]
        _cached = None
        predictor = load_any_predictor(model_extracted_dir(package), parse_emd(package.emd), device,
                                       allow_torchscript=torchscript_allowed())
        _cached = (key, predictor)
        return predictor


# one part ----------------------------------------------------------------------------------------
def run_part_work(params: dict[str, Any], progress: Callable[[int, int, str], None],
                  should_stop: Callable[[], bool]) -> PartResult:
    part = PartSpec.from_dict(params["part"])
    out = Path(settings.DATA_DIR) / params["out"]
    out.parent.mkdir(parents=True, exist_ok=True)
    predictor = predictor_for(params["in_model"], params.get("processor_type", "CPU"))
    raster = raster_cog_path(params["in_raster"])
    if params["parent_kind"] == "detect_objects":
        args = DetectArgs.from_arguments(params["arguments"])
        args.validate()
        return detect_objects_part(raster, part, predictor, args, out, progress, should_stop)
    pixel_args = ClassifyPixelsArgs.from_arguments(params["arguments"])
    return classify_pixels_part(raster, part, predictor, pixel_args, out, progress, should_stop)


def run_part_job(ctx: JobContext) -> dict[str, Any]:
    """Handler of ``inference_part`` (a part taken by any worker)."""
    result = run_part_work(ctx.params, ctx.progress, ctx.should_stop)
    return {"count": result.count, "chips": result.chips, "skipped": result.skipped}


# the parent --------------------------------------------------------------------------------------
@dataclass
class TiledRun:
    """What a parent got from its parts: their output files (in part order) and totals.

    ``rasters[i]`` is the raster ``files[i]`` was made from (a job may run over several rasters)."""

    files: list[Path]
    count: int
    chips: int
    rasters: list[int] = field(default_factory=list)
    per_raster: dict[str, dict[str, Any]] = field(default_factory=dict)  # see _per_raster

    def metrics(self) -> dict[str, Any]:
        """Per-raster figures for the job's final metrics (jobs over several rasters only)."""
        return {"rasters": self.per_raster} if len(self.per_raster) > 1 else {}

    def by_raster(self) -> dict[int, list[Path]]:
        """Part files grouped by raster, in the job's raster order."""
        grouped: dict[int, list[Path]] = {}
        for raster_id, path in zip(self.rasters, self.files):
            grouped.setdefault(raster_id, []).append(path)
        return grouped


def plan_job(params: dict[str, Any]) -> list[tuple[int, PartSpec]]:
    """Every raster's parts, as (raster id, part): one job over a collection is one list of parts
    that any worker on the queue takes, whichever raster they come from."""
    package = ModelPackage.objects.get(pk=params["in_model"])
    emd = parse_emd(package.emd)
    arguments = params["arguments"]
    chip, pad = resolve_tiles(chip_size_of(emd), arguments.get("tile_size"), arguments.get("padding"))
    planned: list[tuple[int, PartSpec]] = []
    for raster_id in raster_ids(params):
        plan = plan_inference(
            raster_cog_path(raster_id), chip_size=chip, padding=pad, extract_bands=band_indices(emd),
            processing_extent=params.get("processing_extent"), cell_size=params.get("cell_size"),
            part_size=int(params.get("part_size") or 4096), input_scale=input_scale_of(emd),
        )
        planned.extend((raster_id, part) for part in plan.parts)
    return planned


def _part_params(ctx: JobContext, kind: str, raster_id: int, part: PartSpec, number: int) -> dict[str, Any]:
    """``number``: the part's place in the whole job (part.index counts within its raster)."""
    suffix = "ndjson" if kind == "detect_objects" else "tif"
    p = ctx.params
    return {
        "parent_kind": kind, "in_raster": raster_id, "in_model": p["in_model"], "arguments": p["arguments"],
        "processor_type": p.get("processor_type", "CPU"), "part": part.to_dict(),
        "out": f"jobs/{ctx.job_id}/parts/part-{number:05d}.{suffix}",
    }


def cancel_parts(parent_id: int, message: str = "Cancelled with its job") -> None:
    now = timezone.now()
    Job.objects.filter(parent_id=parent_id, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, cancel_requested=True, finished_at=now, message=message)
    Job.objects.filter(parent_id=parent_id, status=JobStatus.RUNNING).update(cancel_requested=True)


def _claim(child_id: int, parent_id: int) -> bool:
    now = timezone.now()
    return bool(Job.objects.filter(pk=child_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, message="Running in its parent job",
        worker_id=f"parent job {parent_id}", attempts=1))


def _finish(child_id: int, **outcome: Any) -> None:
    Job.objects.filter(pk=child_id, status=JobStatus.RUNNING).update(finished_at=timezone.now(), **outcome)
    broadcast_job(Job.objects.get(pk=child_id))


class _Progress:
    """Sums the parts' progress into the parent's (each part weighs the same)."""

    def __init__(self, ctx: JobContext, count: int, found_word: str) -> None:
        self.ctx, self.count, self.word = ctx, count, found_word
        self.local: dict[int, float] = {}

    def report(self, children: list[Job]) -> None:
        total = sum(self.local.get(c.pk, c.progress) for c in children)
        done = sum(1 for c in children if c.status == JobStatus.SUCCEEDED)
        found = sum(int((c.result or {}).get("count", 0)) for c in children if c.status == JobStatus.SUCCEEDED)
        frac = total / max(self.count, 1) * (1 - MERGE_SHARE)
        self.ctx.progress(round(frac * 1000), 1000, f"{done} of {self.count} parts done, {found} {self.word} so far")
        metrics: dict[str, Any] = {"parts": self.count, "parts_done": done, "found": found}
        rasters = _per_raster(children, self.local)
        if len(rasters) > 1:
            metrics["rasters"] = rasters
        self.ctx.set_metrics(metrics)


def _per_raster(children: list[Job], local: dict[int, float]) -> dict[str, dict[str, Any]]:
    """Progress of each raster of a multi-raster job: {raster id: {progress, parts, parts_done, found}}."""
    out: dict[str, dict[str, Any]] = {}
    for child in children:
        entry = out.setdefault(str(child.params.get("in_raster")),
                               {"progress": 0.0, "parts": 0, "parts_done": 0, "found": 0})
        entry["parts"] += 1
        if child.status == JobStatus.SUCCEEDED:
            entry["parts_done"] += 1
            entry["found"] += int((child.result or {}).get("count", 0))
        entry["progress"] += local.get(child.pk, child.progress)
    for entry in out.values():
        entry["progress"] = round(entry["progress"] / entry["parts"], 3)
    return out


def _run_locally(ctx: JobContext, child: Job, tracker: _Progress, children: list[Job]) -> None:
    """Run a claimed child in this process, keeping its row (progress, heartbeat, outcome) current."""
    last = [0.0]

    def progress(done: int, total: int, message: str) -> None:
        frac = done / total if total else 1.0
        tracker.local[child.pk] = frac
        now = time.monotonic()
        if now - last[0] >= CHILD_WRITE_SECONDS:
            last[0] = now
            Job.objects.filter(pk=child.pk).update(progress=frac, message=message, heartbeat_at=timezone.now())
            tracker.report(children)

    def should_stop() -> bool:
        return ctx.should_stop() or Job.objects.filter(pk=child.pk, cancel_requested=True).exists()

    try:
        with beating(child.pk):  # its own clock: a batch may take longer than the stale timeout
            result = run_part_work(child.params, progress, should_stop)
    except Cancelled:
        _finish(child.pk, status=JobStatus.CANCELLED, message="Cancelled")
        raise
    except Exception as exc:  # noqa: BLE001 - the part fails with the error, then so does its parent
        # The parent's loop sees the failed part next and fails with "part i of n failed: ...".
        _finish(child.pk, status=JobStatus.FAILED, message="Failed", error=f"{type(exc).__name__}: {exc}"
                if not isinstance(exc, EngineInputError) else str(exc))
        return
    tracker.local.pop(child.pk, None)
    _finish(child.pk, status=JobStatus.SUCCEEDED, progress=1.0, message="Done",
            result={"count": result.count, "chips": result.chips, "skipped": result.skipped})


def run_tiled(ctx: JobContext, kind: str, found_word: str) -> TiledRun:
    """Plan, run every part (here and on other workers), wait; returns the part files."""
    parts = plan_job(ctx.params)
    parent = Job.objects.get(pk=ctx.job_id)
    ctx.log(f"{len(parts)} part(s)")
    children = [
        job_start(user=parent.created_by, kind=PART_KIND, project_id=parent.project_id,
                  params=_part_params(ctx, kind, raster_id, part, number), parent=parent, queue=parent.queue)
        for number, (raster_id, part) in enumerate(parts)
    ] if len(parts) > 1 else []
    if not children:  # one part: no child job, no queue round trip
        params = _part_params(ctx, kind, parts[0][0], parts[0][1], 0)
        result = run_part_work(params, _scaled(ctx.progress), ctx.should_stop)
        return TiledRun([Path(settings.DATA_DIR) / params["out"]], result.count, result.chips, [parts[0][0]])
    tracker = _Progress(ctx, len(children), found_word)
    ids = [c.pk for c in children]
    try:
        while True:
            children = list(Job.objects.filter(pk__in=ids).order_by("pk"))
            tracker.report(children)
            if ctx.should_stop():
                raise Cancelled()
            failed = next((c for c in children if c.status == JobStatus.FAILED), None)
            if failed is not None:
                index = ids.index(failed.pk) + 1
                raise EngineInputError(f"part {index} of {len(ids)} failed: {failed.error or 'no error given'}")
            if any(c.status == JobStatus.CANCELLED for c in children):
                raise Cancelled()
            if all(c.status == JobStatus.SUCCEEDED for c in children):
                break
            queued = next((c for c in children if c.status == JobStatus.QUEUED), None)
            if queued is not None and _claim(queued.pk, ctx.job_id):
                _run_locally(ctx, queued, tracker, children)
                continue
            time.sleep(POLL_SECONDS)
    except BaseException:
        cancel_parts(ctx.job_id)
        raise
    results = [c.result or {} for c in children]
    files = [Path(settings.DATA_DIR) / c.params["out"] for c in children]
    return TiledRun(files, sum(int(r.get("count", 0)) for r in results), sum(int(r.get("chips", 0)) for r in results),
                    [int(c.params["in_raster"]) for c in children], _per_raster(children, {}))


def _scaled(progress: Callable[[int, int, str], None]) -> Callable[[int, int, str], None]:
    def report(done: int, total: int, message: str) -> None:
        frac = done / total if total else 1.0
        progress(round(frac * (1 - MERGE_SHARE) * 1000), 1000, message)

    return report


def merge_progress(progress: Callable[[int, int, str], None]) -> Callable[[int, int, str], None]:
    def report(done: int, total: int, message: str) -> None:
        frac = done / total if total else 1.0
        progress(round((1 - MERGE_SHARE + frac * MERGE_SHARE) * 1000), 1000, message)

    return report


def unfinished_parts(parent_id: int) -> bool:
    return Job.objects.filter(parent_id=parent_id).exclude(status__in=FINISHED_STATUSES).exists()
