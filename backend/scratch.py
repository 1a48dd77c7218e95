"""Scratch space shared by every app: RASTERLAB_DATA_DIR/tmp, on the same file system as the stored
files so that finished work moves into place with a rename."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings


def scratch_dir() -> Path:
    path = Path(settings.DATA_DIR) / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path
