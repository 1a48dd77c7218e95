"""Starting, cancelling and reaping jobs. Every state change is a conditional UPDATE so that a
cancel, a worker and a reaper racing on one job cannot overwrite each other's outcome."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rq import Worker

from backend.api.exceptions import InvalidInput, NotFound, PermissionDenied

from .events import broadcast_job
from .models import FINISHED_STATUSES, Job, JobStatus
from .registry import ValidationContext, access_policy, get_kind, kind_names

logger = logging.getLogger(__name__)

GPU_QUEUE = "gpu"
DEFAULT_QUEUE = "default"


def queue_for_params(params: dict[str, Any]) -> str:
    return GPU_QUEUE if str(params.get("processor_type", "CPU")).upper() == "GPU" else DEFAULT_QUEUE


def live_worker_count(queue_name: str) -> int:
    queue = django_rq.get_queue(queue_name)
    return len(Worker.all(queue=queue))


def _waiting_message(queue_name: str) -> str:
    if queue_name == GPU_QUEUE and live_worker_count(GPU_QUEUE) == 0:
        return "Queued for a GPU worker, but none is running: start one with `manage.py rqworker gpu`."
    return "Queued"


def job_require_access(*, user: Any, project_id: int, write: bool) -> None:
    role = access_policy().role(user, project_id)
    if role is None:
        raise NotFound("Project not found.")
    if write and not role.can_write:
        raise PermissionDenied("Viewers cannot start or cancel jobs; ask a project owner for the editor role.")


def job_start(*, user: Any, kind: str, project_id: int, params: dict[str, Any], parent: Job | None = None,
              queue: str | None = None) -> Job:
    """Validate and create a job, and enqueue it once the surrounding transaction commits."""
    job_kind = get_kind(kind)
    if job_kind is None:
        raise InvalidInput(f"kind: unknown job kind {kind!r}; one of {', '.join(kind_names())}.")
    if parent is None:
        job_require_access(user=user, project_id=project_id, write=True)
    if not isinstance(params, dict):
        raise InvalidInput("params: must be a JSON object.")
    cleaned = job_kind.validate(dict(params), ValidationContext(user=user, project_id=project_id))
    queue_name = queue or queue_for_params(cleaned)
    job = Job.objects.create(
        kind=kind, project_id=project_id, params=cleaned, created_by=user if getattr(user, "pk", None) else None,
        queue=queue_name, message=_waiting_message(queue_name), parent=parent,
    )
    transaction.on_commit(lambda: _enqueue(job.pk))
    transaction.on_commit(lambda: broadcast_job(job))
    return job


def _enqueue(job_id: int) -> None:
    job = Job.objects.get(pk=job_id)
    kind = get_kind(job.kind)
    timeout = kind.timeout_seconds if kind else 24 * 3600
    rq_job = django_rq.get_queue(job.queue).enqueue(
        "apps.jobs.tasks.run_job", job.pk,
        job_id=f"rasterlab-{job.pk}-{job.attempts + 1}",
        job_timeout=timeout, result_ttl=3600, failure_ttl=7 * 24 * 3600,
        description=f"{job.kind} #{job.pk}",
    )
    Job.objects.filter(pk=job.pk).update(rq_id=rq_job.id)


def job_cancel(*, job: Job, user: Any) -> Job:
    """A queued job never starts; a running one stops at its next ``should_stop()`` check."""
    job_require_access(user=user, project_id=job.project_id, write=True)
    now = timezone.now()
    if Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, message="Cancelled before it started", finished_at=now, cancel_requested=True
    ):
        _cancel_rq_job(job)
    elif Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(cancel_requested=True, message="Cancelling…"):
        pass
    for part in job.parts.exclude(status__in=FINISHED_STATUSES):
        job_cancel(job=part, user=user)
    job.refresh_from_db()
    if job.status == JobStatus.CANCELLED:
        run_abort_hook(job)
    broadcast_job(job)
    return job


def _cancel_rq_job(job: Job) -> None:
    if not job.rq_id:
        return
    try:
        from rq.job import Job as RQJob

        RQJob.fetch(job.rq_id, connection=django_rq.get_connection(job.queue)).cancel()
    except Exception:  # noqa: BLE001 - already gone from Redis: the runner will see "cancelled"
        logger.info("rq job %s of job %s not cancellable", job.rq_id, job.pk)


def run_abort_hook(job: Job) -> None:
    kind = get_kind(job.kind)
    if kind and kind.on_abort:
        try:
            kind.on_abort(job)
        except Exception:  # noqa: BLE001
            logger.exception("cleanup of job %s failed", job.pk)


def job_fail(job: Job, error: str) -> bool:
    """Mark a running or queued job failed; False when it had already finished."""
    updated = Job.objects.filter(pk=job.pk).exclude(status__in=FINISHED_STATUSES).update(
        status=JobStatus.FAILED, error=error[:10000], message="Failed", finished_at=timezone.now()
    )
    if updated:
        job.refresh_from_db()
        run_abort_hook(job)
        broadcast_job(job)
    return bool(updated)


def jobs_reap_stale(now: Any = None) -> list[int]:
    """Fail (or re-queue once, for retryable kinds) running jobs whose worker stopped beating.

    A worker killed with SIGKILL leaves its job "running" with an old heartbeat: this is the one
    place that notices. Returns the ids handled.
    """
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=float(settings.JOB_STALE_AFTER_SECONDS))
    handled: list[int] = []
    for job in Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=stale_before):
        kind = get_kind(job.kind)
        worker = job.worker_id or "unknown worker"
        if kind and kind.retryable and job.attempts < 2 and not job.cancel_requested:
            if Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, heartbeat_at__lt=stale_before).update(
                status=JobStatus.QUEUED, progress=0.0, heartbeat_at=None,
                message=f"Worker {worker} stopped responding; retrying (attempt {job.attempts + 1})",
            ):
                job.refresh_from_db()
                run_abort_hook(job)
                _enqueue(job.pk)
                broadcast_job(job)
                handled.append(job.pk)
        elif Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, heartbeat_at__lt=stale_before).update(
            status=JobStatus.FAILED, finished_at=now, message="Failed",
            error=f"The worker running this job ({worker}) stopped responding (it crashed or was killed). "
                  "Nothing it produced was kept; start the job again.",
        ):
            job.refresh_from_db()
            run_abort_hook(job)
            broadcast_job(job)
            handled.append(job.pk)
    return handled
