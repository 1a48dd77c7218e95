"""Turns an engine's ``progress`` / ``should_stop`` callbacks into throttled DB writes and events,
and keeps a running job's heartbeat."""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from .events import broadcast_job
from .models import Job, JobStatus

logger = logging.getLogger(__name__)

# Set in a forked RQ work horse (apps.jobs.worker): there a job that is no longer ours may end the
# whole process; in-process workers (tests, SimpleWorker) only stop the job.
IN_WORK_HORSE = False
# How long a job declared dead elsewhere gets to notice should_stop() before its process is killed.
LOST_JOB_GRACE_SECONDS = 10.0


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
        self._heartbeat: Heartbeat | None = None

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
        if self._heartbeat is not None and self._heartbeat.lost:
            return True  # failed or re-queued elsewhere (reaper, worker stop): stop at once
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
        self._heartbeat = Heartbeat(self.job.pk)
        self._heartbeat.start()

    def stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()


class Heartbeat:
    """Writes ``heartbeat_at`` of one running job on its own clock (a thread), whatever the job does.

    When the row is no longer running (a reaper declared the job dead, a stopping worker queued it
    again), the job is not ours any more: ``lost`` turns true so ``should_stop()`` ends it, and in a
    work horse the process is killed after a grace period, so a dead-declared job never keeps a worker.
    """

    def __init__(self, job_id: int, *, kill_when_lost: bool = True) -> None:
        self.job_id = job_id
        self.kill_when_lost = kill_when_lost
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._beat, name=f"job-{self.job_id}-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _beat(self) -> None:
        interval = float(settings.JOB_HEARTBEAT_SECONDS)
        try:
            while not self._stop.wait(interval):
                try:
                    alive = Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(
                        heartbeat_at=timezone.now())
                except Exception:  # noqa: BLE001 - a database blip: beat again next time
                    logger.warning("heartbeat of job %s failed", self.job_id, exc_info=True)
                    close_old_connections()
                    continue
                if not alive:
                    self._lose()
                    return
        finally:
            connection.close()

    def _lose(self) -> None:
        self.lost = True
        logger.warning("job %s is no longer running here (declared dead or queued again): stopping it", self.job_id)
        if self.kill_when_lost and IN_WORK_HORSE and not self._stop.wait(LOST_JOB_GRACE_SECONDS):
            logger.warning("job %s did not stop within %.0f s: killing its work horse", self.job_id,
                           LOST_JOB_GRACE_SECONDS)
            os.kill(os.getpid(), signal.SIGKILL)


@contextmanager
def beating(job_id: int) -> Iterator[Heartbeat]:
    """Keep ``job_id``'s heartbeat for the duration (e.g. a part its parent runs in-process; the
    parent's own heartbeat decides whether the process lives)."""
    heartbeat = Heartbeat(job_id, kill_when_lost=False)
    heartbeat.start()
    try:
        yield heartbeat
    finally:
        heartbeat.stop()
