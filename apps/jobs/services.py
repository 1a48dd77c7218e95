"""Starting, cancelling and reaping jobs. Every state change is a conditional UPDATE so that a
cancel, a worker and a reaper racing on one job cannot overwrite each other's outcome."""
from __future__ import annotations

import logging
import shutil
from datetime import timedelta
from pathlib import Path
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
LONG_QUEUE = "long"
# A queued job is looked for in Redis only once it is this old (it is enqueued when its row commits).
RECOVER_GRACE_SECONDS = 10.0


def queue_for(kind_queue: str, params: dict[str, Any]) -> str:
    """GPU work goes to the gpu queue; the rest to the kind's queue (short "default" or "long")."""
    return GPU_QUEUE if str(params.get("processor_type", "CPU")).upper() == "GPU" else kind_queue


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
    cleaned = job_kind.params.clean(dict(params), ValidationContext(user=user, project_id=project_id))
    queue_name = queue or queue_for(job_kind.queue, cleaned)
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


def job_requeue_interrupted(job_id: int, why: str) -> bool:
    """A running job whose worker is stopping goes back to the queue and runs again from the start."""
    if not Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        status=JobStatus.QUEUED, progress=0.0, heartbeat_at=None, started_at=None,
        message=f"Interrupted because {why}; queued to run again from the start",
    ):
        return False
    job = Job.objects.get(pk=job_id)
    run_abort_hook(job)  # partial outputs go; hooks see status "queued" and keep what a retry needs
    _cancel_unfinished_parts(job.pk, "Its job was interrupted")
    _enqueue(job.pk)
    broadcast_job(job)
    return True


def jobs_reap_stale(now: Any = None) -> list[int]:
    """Fail (or re-queue once, for retryable kinds) running jobs whose worker stopped beating or is gone.

    A worker killed with SIGKILL leaves its job "running" with an old heartbeat: this is the one
    place that notices. A worker that left Redis's registry (stopped, or its Redis restarted) is gone
    at once. Returns the ids handled. The work horse of a reaped job stops itself when its next
    heartbeat finds the row no longer running (progress.Heartbeat); the worker is asked too.
    """
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=float(settings.JOB_STALE_AFTER_SECONDS))
    handled: list[int] = []
    running = Job.objects.filter(status=JobStatus.RUNNING)
    candidates = list(running.filter(heartbeat_at__lt=stale_before)) + [
        job for job in running.exclude(heartbeat_at__lt=stale_before) if _worker_is_gone(job)
    ]
    for job in candidates:
        if _reap(job, now):
            handled.append(job.pk)
    _cancel_orphaned_parts()
    return handled


def _reap(job: Job, now: Any) -> bool:
    kind = get_kind(job.kind)
    worker = job.worker_id or "unknown worker"
    still_running = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, heartbeat_at=job.heartbeat_at)
    if kind and kind.retryable and job.attempts < 2 and not job.cancel_requested:
        if not still_running.update(
            status=JobStatus.QUEUED, progress=0.0, heartbeat_at=None,
            message=f"Worker {worker} stopped responding; retrying (attempt {job.attempts + 1})",
        ):
            return False
        job.refresh_from_db()
        run_abort_hook(job)
        _stop_rq_job(job)
        _enqueue(job.pk)
    else:
        if not still_running.update(
            status=JobStatus.FAILED, finished_at=now, message="Failed",
            error=f"The worker running this job ({worker}) stopped responding (it crashed or was killed). "
                  "Nothing it produced was kept; start the job again.",
        ):
            return False
        job.refresh_from_db()
        run_abort_hook(job)
        _stop_rq_job(job)
        # The dead work horse never ran its clean-up: its scratch folder goes here (a retry cleans
        # its own at start).
        shutil.rmtree(Path(settings.DATA_DIR) / "jobs" / str(job.pk), ignore_errors=True)
    broadcast_job(job)
    return True


def _worker_is_gone(job: Job) -> bool:
    """True when the job's worker is known to have left (not merely slow): it is not registered."""
    name = job.worker_id
    if not name:
        return False
    if name.startswith("parent job "):  # a part its parent runs in-process lives and dies with it
        parent_id = name.removeprefix("parent job ")
        return parent_id.isdigit() and not Job.objects.filter(pk=int(parent_id), status=JobStatus.RUNNING).exists()
    try:
        connection = django_rq.get_connection(job.queue)
        return Worker.find_by_key(Worker.redis_worker_namespace_prefix + name, connection=connection) is None
    except Exception:  # noqa: BLE001 - Redis unreachable: rely on the heartbeat alone
        return False


def _stop_rq_job(job: Job) -> None:
    """Ask the job's worker (on whatever machine) to kill its work horse, if it still runs this job."""
    if not job.rq_id:
        return
    try:
        from rq.command import send_stop_job_command

        send_stop_job_command(django_rq.get_connection(job.queue), job.rq_id)
    except Exception:  # noqa: BLE001 - not running anywhere: nothing to stop
        logger.debug("rq job %s of job %s not stoppable", job.rq_id, job.pk)


def _cancel_unfinished_parts(parent_id: int, message: str) -> None:
    Job.objects.filter(parent_id=parent_id).exclude(status__in=FINISHED_STATUSES).update(
        status=JobStatus.CANCELLED, cancel_requested=True, finished_at=timezone.now(), message=message)


def _cancel_orphaned_parts() -> None:
    """Parts of a job that ended (or was queued again) will never be merged: they must not run."""
    for parent_id in set(
        Job.objects.filter(parent__isnull=False).exclude(status__in=FINISHED_STATUSES)
        .exclude(parent__status=JobStatus.RUNNING).values_list("parent_id", flat=True)
    ):
        _cancel_unfinished_parts(parent_id, "Cancelled: its job is no longer running")


def jobs_recover(now: Any = None) -> list[int]:
    """The database is the truth: queued jobs that Redis does not hold (lost in a restart, a flush or
    a crash between commit and enqueue) are enqueued again. Returns their ids."""
    from rq.job import Job as RQJob
    from rq.job import JobStatus as RQStatus

    waiting = {RQStatus.QUEUED, RQStatus.DEFERRED, RQStatus.SCHEDULED, RQStatus.STARTED}
    now = now or timezone.now()
    recovered: list[int] = []
    old_enough = now - timedelta(seconds=RECOVER_GRACE_SECONDS)
    for job in Job.objects.filter(status=JobStatus.QUEUED, created_at__lt=old_enough, parent__isnull=True):
        try:
            rq_job = RQJob.fetch(job.rq_id, connection=django_rq.get_connection(job.queue)) if job.rq_id else None
            known = rq_job is not None and rq_job.get_status(refresh=False) in waiting
        except Exception:  # noqa: BLE001 - NoSuchJobError and friends: Redis does not have it
            known = False
        if not known:
            _enqueue(job.pk)
            recovered.append(job.pk)
    return recovered
