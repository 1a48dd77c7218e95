"""The RQ worker class used by ``manage.py rqworker``: RQ's forking worker plus a reaper thread
that fails jobs whose worker died (see services.jobs_reap_stale)."""
from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from rq import Worker

logger = logging.getLogger(__name__)


class RasterlabWorker(Worker):
    def work(self, *args: Any, **kwargs: Any) -> bool:
        _preload_heavy_modules()
        stop = threading.Event()
        thread = threading.Thread(target=self._reap_forever, args=(stop,), name="job-reaper", daemon=True)
        thread.start()
        try:
            return super().work(*args, **kwargs)
        finally:
            stop.set()

    @staticmethod
    def _reap_forever(stop: threading.Event) -> None:
        from .services import jobs_reap_stale

        interval = max(1.0, float(settings.JOB_STALE_AFTER_SECONDS) / 3)
        while not stop.wait(interval):
            try:
                close_old_connections()
                reaped = jobs_reap_stale()
                if reaped:
                    logger.warning("reaped jobs of dead workers: %s", reaped)
            except Exception:  # noqa: BLE001 - keep reaping after a transient DB/Redis error
                logger.exception("job reaper failed")


def _preload_heavy_modules() -> None:
    """Import torch and the engine once in the worker so that every forked work horse inherits
    them instead of paying seconds of imports per job (CUDA is not initialised here: fork-safe)."""
    import importlib

    for name in ("torch", "torchvision", "backend.engine.nets", "backend.engine.inference"):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a worker without torch still runs other jobs
            logger.info("could not preload %s", name, exc_info=True)
