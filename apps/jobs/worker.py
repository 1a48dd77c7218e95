"""The RQ worker class used by ``manage.py rqworker``: RQ's forking worker made safe for jobs.

- No database connection crosses a fork. SQLite's per-process lock state is copied into a forked
  child; when the parent later closes a connection it held at the fork, SQLite believes it is the
  last user, deletes the WAL and every write the work horse makes after that is lost. So the
  worker closes its connections and forks under a lock that its reaper thread also takes around
  each pass (and closes its connection before releasing).
- A reaper thread fails (or retries) jobs of dead workers and re-enqueues queued jobs Redis lost
  (services.jobs_reap_stale, services.jobs_recover); the same recovery runs at start-up.
- A stop signal (Ctrl-C, SIGTERM) interrupts the running job at once and queues it again, instead
  of RQ's warm shutdown that waits for an hour of training.
- A work horse dies with its worker (it watches its parent), so no job outlives the process that
  ran it.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

from django.conf import settings
from django.db import connections
from rq import Worker
from rq.exceptions import StopRequested

logger = logging.getLogger(__name__)

# Held by the reaper thread while it uses the database, and by the main thread while it forks.
_db_fork_lock = threading.Lock()
RECOVER_EVERY_PASSES = 10


class RasterlabWorker(Worker):
    def work(self, *args: Any, **kwargs: Any) -> bool:
        _preload_heavy_modules()
        self._recover()
        stop = threading.Event()
        thread = threading.Thread(target=self._reap_forever, args=(stop,), name="job-reaper", daemon=True)
        thread.start()
        try:
            return super().work(*args, **kwargs)
        finally:
            stop.set()

    # fork safety -----------------------------------------------------------------------------
    def fork_work_horse(self, job: Any, queue: Any) -> None:
        with _db_fork_lock:
            connections.close_all()
            super().fork_work_horse(job, queue)

    def main_work_horse(self, job: Any, queue: Any) -> None:
        from . import progress

        progress.IN_WORK_HORSE = True
        _die_with_parent(os.getppid())
        super().main_work_horse(job, queue)

    # reaping and recovery --------------------------------------------------------------------
    def _recover(self) -> None:
        from .services import jobs_reap_stale, jobs_recover

        with _db_fork_lock:
            try:
                jobs_reap_stale()
                recovered = jobs_recover()
                if recovered:
                    logger.warning("re-enqueued jobs that Redis had lost: %s", recovered)
            except Exception:  # noqa: BLE001 - a worker still starts when the check cannot run
                logger.exception("job recovery at start-up failed")
            finally:
                connections.close_all()

    def _reap_forever(self, stop: threading.Event) -> None:
        from .services import jobs_reap_stale, jobs_recover

        interval = max(1.0, float(settings.JOB_STALE_AFTER_SECONDS) / 3)
        passes = 0
        while not stop.wait(interval):
            passes += 1
            with _db_fork_lock:
                try:
                    reaped = jobs_reap_stale()
                    if reaped:
                        logger.warning("reaped jobs of dead workers: %s", reaped)
                    if passes % RECOVER_EVERY_PASSES == 0:
                        jobs_recover()
                except Exception:  # noqa: BLE001 - keep reaping after a transient DB/Redis error
                    logger.exception("job reaper failed")
                finally:
                    connections.close_all()

    # stopping --------------------------------------------------------------------------------
    def request_stop(self, signum: int, frame: Any) -> None:
        """Stop now: the running job (if any) is interrupted and queued again, then the worker exits."""
        self._shutdown_requested_date = _utcnow()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        current = self.get_current_job() if self.horse_pid else None
        if not self.horse_pid:
            raise StopRequested()
        logger.warning("worker %s stopping: interrupting job %s", self.name, current.id if current else "?")
        self.kill_horse()
        self.wait_for_horse()
        if current is not None and current.args:
            from .services import job_requeue_interrupted

            try:
                job_requeue_interrupted(int(current.args[0]), f"its worker ({self.name}) was stopped")
            except Exception:  # noqa: BLE001 - the start-up recovery of the next worker catches it
                logger.exception("could not queue job %s again", current.args[0])
            finally:
                connections.close_all()
        raise SystemExit(0)


def _utcnow() -> Any:
    from rq.utils import now

    return now()


def _die_with_parent(parent_pid: int) -> None:
    """A work horse whose worker died (SIGKILL, machine lost) must not run on unsupervised."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _preload_heavy_modules() -> None:
    """Import torch and the engine once in the worker so that every forked work horse inherits
    them instead of paying seconds of imports per job (CUDA is not initialised here: fork-safe)."""
    import importlib

    for name in ("torch", "torchvision", "backend.engine.nets", "backend.engine.inference"):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a worker without torch still runs other jobs
            logger.info("could not preload %s", name, exc_info=True)
