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
