"""RQ entry points: ids in, a service call out (enqueued by dotted path)."""
from __future__ import annotations

from django.db import close_old_connections

from .runner import execute_job


def run_job(job_id: int) -> None:
    close_old_connections()
    try:
        execute_job(job_id)
    finally:
        close_old_connections()
