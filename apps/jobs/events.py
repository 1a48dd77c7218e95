"""Job change events on the channel layer: group ``job_<id>`` and ``project_<id>_jobs``."""
from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .models import Job

logger = logging.getLogger(__name__)


def job_group(job_id: int) -> str:
    return f"job_{job_id}"


def project_jobs_group(project_id: int) -> str:
    return f"project_{project_id}_jobs"


def job_state(job: Job) -> dict[str, Any]:
    """The job as the REST API shows it, without its log (the payload of every event)."""
    return {
        "id": job.pk,
        "kind": job.kind,
        "project": job.project_id,
        "params": job.params,
        "status": job.status,
        "progress": round(job.progress, 4),
        "message": job.message,
        "result": job.result,
        "metrics": job.metrics,
        "error": job.error,
        "created_by": job.created_by.get_username() if job.created_by_id and job.created_by else None,
        "queue": job.queue,
        "worker_id": job.worker_id,
        "attempts": job.attempts,
        "parent": job.parent_id,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def broadcast_job(job: Job) -> None:
    """Send the job's state to its websocket listeners. Never raises: events are best effort."""
    layer = get_channel_layer()
    if layer is None:
        return
    state = job_state(job)
    try:
        send = async_to_sync(layer.group_send)
        send(job_group(job.pk), {"type": "job.event", "job": state})
        send(project_jobs_group(job.project_id), {"type": "job.event", "job": state})
    except Exception:  # noqa: BLE001 - a dead channel layer must not fail the job itself
        logger.warning("could not broadcast job %s", job.pk, exc_info=True)
