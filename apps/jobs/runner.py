"""Runs one job inside an RQ work horse: status transitions, handler call, cleanup."""
from __future__ import annotations

import logging
import shutil
import traceback
from pathlib import Path

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from backend.api.exceptions import DomainError
from backend.engine.errors import Cancelled, EngineInputError

from .events import broadcast_job
from .models import Job, JobStatus
from .progress import JobReporter
from .registry import JobContext, get_kind
from .services import run_abort_hook

logger = logging.getLogger(__name__)


def _current_worker_name() -> str:
    try:
        from rq import get_current_job

        rq_job = get_current_job()
        return (rq_job.worker_name or "") if rq_job else ""
    except Exception:  # noqa: BLE001
        return ""


def execute_job(job_id: int) -> None:
    now = timezone.now()
    # Claim the job: only a queued job starts (a cancelled one never does).
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, message="Starting",
        worker_id=_current_worker_name(), attempts=F("attempts") + 1,
    )
    if not claimed:
        logger.info("job %s not started: it is no longer queued", job_id)
        return
    job = Job.objects.get(pk=job_id)
    broadcast_job(job)
    kind = get_kind(job.kind)
    reporter = JobReporter(job)
    work_dir = Path(settings.DATA_DIR) / "jobs" / str(job.pk)
    shutil.rmtree(work_dir, ignore_errors=True)  # a retry starts clean, whatever an earlier attempt left
    work_dir.mkdir(parents=True, exist_ok=True)
    reporter.start_heartbeat()
    outcome: dict = {}
    try:
        if kind is None:
            raise EngineInputError(f"No handler for job kind {job.kind!r} on this worker.")
        context = JobContext(
            job_id=job.pk, project_id=job.project_id, user_id=job.created_by_id, params=job.params,
            progress=reporter.progress, should_stop=reporter.should_stop, log=reporter.log,
            set_metrics=reporter.set_metrics, work_dir=work_dir, attempt=job.attempts,
        )
        result = kind.handler(context) or {}
        outcome = {"status": JobStatus.SUCCEEDED, "result": result, "progress": 1.0, "message": "Done"}
    except Cancelled:
        outcome = {"status": JobStatus.CANCELLED, "message": "Cancelled"}
    except (EngineInputError, DomainError) as exc:
        outcome = {"status": JobStatus.FAILED, "message": "Failed", "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - any crash becomes a readable failure
        logger.exception("job %s crashed", job.pk)
        reporter.log(traceback.format_exc(limit=8))
        outcome = {"status": JobStatus.FAILED, "message": "Failed", "error": f"{type(exc).__name__}: {exc}"}
    finally:
        reporter.stop_heartbeat()
        reporter.flush()
        shutil.rmtree(work_dir, ignore_errors=True)
    finished = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        finished_at=timezone.now(), log=reporter.job.log, **outcome
    )
    job.refresh_from_db()
    if finished and job.status != JobStatus.SUCCEEDED:
        run_abort_hook(job)
    broadcast_job(job)
