"""Where model packages live under RASTERLAB_DATA_DIR:

    models/<id>/package.dlpk     the package (as uploaded; edits rewrite it atomically)
    models/<id>/extracted/       its members, extracted on demand for inference
"""
from __future__ import annotations

from pathlib import Path

from django.conf import settings


def models_root() -> Path:
    return Path(settings.DATA_DIR) / "models"


def package_dir(package_id: int) -> Path:
    return models_root() / str(package_id)


def package_path(package_id: int) -> Path:
    return package_dir(package_id) / "package.dlpk"


def extracted_dir(package_id: int) -> Path:
    return package_dir(package_id) / "extracted"
