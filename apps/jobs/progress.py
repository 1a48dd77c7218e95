"""Turns an engine's ``progress`` / ``should_stop`` callbacks into throttled DB writes and events."""
from __future__ import annotations

import threading
import time
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from .events import broadcast_job
from .models import Job, JobStatus


class JobReporter:
    """Progress, cancel checks, log and heartbeat of one running job.

    Writes go to the DB at most every ``JOB_PROGRESS_MIN_INTERVAL`` seconds (the last update of a
    burst is never lost: ``flush()`` writes it), each followed by a channel-layer event.
    """

    CANCEL_CHECK_INTERVAL = 0.5

    def __init__(self, job: Job) -> None:
        self.job = job
        self._min_interval = float(settings.JOB_PROGRESS_MIN_INTERVAL)
        self._last_write = 0.0
        self._dirty = False
        self._last_cancel_check = 0.0
        self._cancelled = False
        self._lock = threading.Lock()
        self._heartbeat_stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    # engine callbacks -------------------------------------------------------------------
    def progress(self, done: int, total: int, message: str = "") -> None:
        fraction = 0.0 if total <= 0 else max(0.0, min(1.0, done / total))
        with self._lock:
            self.job.progress = max(self.job.progress, fraction)
            if message:
                self.job.message = message
            self._dirty = True
        self._maybe_write()

    def should_stop(self) -> bool:
        now = time.monotonic()
        if not self._cancelled and now - self._last_cancel_check >= self.CANCEL_CHECK_INTERVAL:
            self._last_cancel_check = now
            self._cancelled = Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists()
        return self._cancelled

    def log(self, line: str) -> None:
        stamp = timezone.now().strftime("%H:%M:%S")
        with self._lock:
            self.job.log = [*self.job.log, f"{stamp} {line}"][-int(settings.JOB_LOG_MAX_LINES):]
            self._dirty = True
        self._maybe_write()

    def set_metrics(self, metrics: dict[str, Any]) -> None:
        with self._lock:
            self.job.metrics = metrics
            self._dirty = True
        self.flush()  # metrics are per epoch: rare and worth sending at once

    # writes ----------------------------------------------------------------------------
    def _maybe_write(self) -> None:
        if time.monotonic() - self._last_write >= self._min_interval:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            if not self._dirty:
                return
            self._dirty = False
            self._last_write = time.monotonic()
            fields = {
                "progress": self.job.progress,
                "message": self.job.message[:2000],
                "log": self.job.log,
                "metrics": self.job.metrics,
                "heartbeat_at": timezone.now(),
            }
        # Only a running job is updated: a reaper may have failed it meanwhile.
        Job.objects.filter(pk=self.job.pk, status=JobStatus.RUNNING).update(**fields)
        broadcast_job(self.job)

    # heartbeat -------------------------------------------------------------------------
    def start_heartbeat(self) -> None:
        self._heartbeat = threading.Thread(target=self._beat, name=f"job-{self.job.pk}-heartbeat", daemon=True)
        self._heartbeat.start()

    def stop_heartbeat(self) -> None:
        self._heartbeat_stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=5)

    def _beat(self) -> None:
        interval = float(settings.JOB_HEARTBEAT_SECONDS)
        try:
            while not self._heartbeat_stop.wait(interval):
                Job.objects.filter(pk=self.job.pk, status=JobStatus.RUNNING).update(heartbeat_at=timezone.now())
        finally:
            connection.close()
            close_old_connections()
