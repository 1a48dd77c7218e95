"""The accuracy report as CSV (one table per section) and the runs of a model (reads)."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from apps.jobs.models import Job, JobStatus
from apps.jobs.selectors import job_get_visible, jobs_visible_to
from backend.api.exceptions import Conflict, NotFound

from .jobkind import KIND
from .services import headline, outcomes_path

DETECTION_COLUMNS = ("class_value", "class_name", "detections", "ground_truth", "true_positives", "false_positives",
                     "false_negatives", "precision", "recall", "f1", "ap", "ap50", "ap50_95")
PIXEL_COLUMNS = ("class_value", "class_name", "reference_pixels", "predicted_pixels", "users_accuracy",
                 "producers_accuracy", "f1", "iou")


def accuracy_job(user: Any, job_id: int) -> Job:
    """A finished compute_accuracy job the user may see (404 / 409 otherwise)."""
    job = job_get_visible(user, job_id)
    if job.kind != KIND:
        raise NotFound(f"Job {job_id} is a {job.kind} job, not a compute_accuracy job.")
    if job.status != JobStatus.SUCCEEDED:
        raise Conflict(f"Job {job_id} is {job.status}; its report exists once it has succeeded.")
    return job


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # a spreadsheet must not run a class name as a formula
    return "" if value is None else value


def report_csv(result: dict[str, Any]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    if result.get("mode") == "detections":
        w.writerow([f"min_iou={result.get('min_iou')}"])
        w.writerow(DETECTION_COLUMNS)
        for row in [*result.get("classes", []), {**result.get("overall", {}), "class_value": "all"}]:
            w.writerow([_cell(row.get(c)) for c in DETECTION_COLUMNS])
    else:
        w.writerow(PIXEL_COLUMNS)
        for row in result.get("classes", []):
            w.writerow([_cell(row.get(c)) for c in PIXEL_COLUMNS])
        w.writerow([])
        w.writerow(["overall_accuracy", _cell(result.get("overall_accuracy"))])
        w.writerow(["kappa", _cell(result.get("kappa"))])
        w.writerow(["mean_iou", _cell(result.get("mean_iou"))])
        w.writerow(["pixels", result.get("pixels")])
        w.writerow([])
        w.writerow(["reference \\ predicted", *[_cell(n) for n in result.get("class_names", [])]])
        for name, row in zip(result.get("class_names", []), result.get("confusion", [])):
            w.writerow([_cell(name), *row])
    for note in result.get("notes", []):
        w.writerow(["note", _cell(note)])
    return out.getvalue()


def outcomes(job: Job) -> dict[str, Any]:
    path: Path = outcomes_path(job.pk)
    if job.result.get("mode") != "detections" or not path.exists():
        raise NotFound("This run has no per-feature outcomes (pixel accuracy, or its file was removed).")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def model_runs(user: Any, model_id: int) -> list[dict[str, Any]]:
    """Every compute_accuracy run of a result made by the model, in projects the user can see."""
    jobs = jobs_visible_to(user).filter(kind=KIND, params__model=model_id).order_by("-created_at", "-id")
    runs = []
    for job in jobs[:500]:
        names = job.params.get("names") or {}
        runs.append({
            "job": job.pk, "project": job.project_id, "status": job.status, "mode": job.params.get("mode"),
            "created_at": job.created_at, "finished_at": job.finished_at,
            "created_by": job.created_by.username if job.created_by else None,
            "result": names.get("result", ""), "ground_truth": names.get("ground_truth", ""),
            "raster": names.get("raster", ""), "min_iou": job.params.get("min_iou"),
            "headline": headline(job.result or {}), "error": job.error,
        })
    return runs
