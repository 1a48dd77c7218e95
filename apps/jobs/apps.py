from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class JobsConfig(AppConfig):
    name = "apps.jobs"
    label = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        # The data directory is shared by web and workers; make sure its scratch folders exist
        # (settings never touch the disk).
        for sub in ("tmp", "jobs", "run"):
            (Path(settings.DATA_DIR) / sub).mkdir(parents=True, exist_ok=True)
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
