"""Where exported datasets live: DATA_DIR/datasets/<id>/ (the export folder as ArcGIS writes it)."""
from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings


def datasets_root() -> Path:
    return Path(settings.DATA_DIR) / "datasets"


def dataset_dir(dataset_id: int) -> Path:
    return datasets_root() / str(dataset_id)


def dataset_partial_dir(dataset_id: int) -> Path:
    """Where a folder is moved first, so that dataset_dir() only ever holds a whole export."""
    return datasets_root() / f"{dataset_id}.partial"


def remove_dataset_files(dataset_id: int) -> None:
    for path in (dataset_dir(dataset_id), dataset_partial_dir(dataset_id)):
        shutil.rmtree(path, ignore_errors=True)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
