"""Writes and derived reads of datasets (delete, sample chips)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.api.exceptions import Conflict, NotFound
from backend.engine.chips import Sample, TrainingFolder, read_training_folder

from ..models import Dataset
from ..permissions import require_role
from .storage import dataset_dir, remove_dataset_files

SAMPLE_LIMIT = 12


def dataset_delete(*, user: Any, dataset: Dataset) -> None:
    require_role(user, dataset.project_id, write=True)
    if dataset.status != Dataset.Status.READY:
        raise Conflict("This dataset is still being exported; cancel its job instead.", job=dataset.job_id)
    dataset_id = dataset.pk
    dataset.delete()
    remove_dataset_files(dataset_id)


def ready_folder(dataset: Dataset) -> Path:
    """The dataset's folder; 409 while exporting, 404 if its files are gone."""
    if dataset.status != Dataset.Status.READY:
        raise Conflict("This dataset is still being exported.", job=dataset.job_id)
    folder = dataset_dir(dataset.pk)
    if not folder.is_dir():
        raise NotFound("The dataset's files are missing on the server.")
    return folder


def training_folder(dataset: Dataset) -> TrainingFolder:
    return read_training_folder(ready_folder(dataset))


def sample_picks(folder: TrainingFolder, limit: int = SAMPLE_LIMIT) -> list[Sample]:
    """Up to ``limit`` chips spread evenly over the export (the same ones each time)."""
    samples = folder.samples
    if len(samples) <= limit:
        return list(samples)
    step = len(samples) / limit
    return [samples[int(i * step)] for i in range(limit)]


def dataset_samples(dataset: Dataset, limit: int = SAMPLE_LIMIT) -> list[dict[str, Any]]:
    if dataset.status != Dataset.Status.READY or not dataset_dir(dataset.pk).is_dir():
        return []
    folder = read_training_folder(dataset_dir(dataset.pk))
    root = folder.root
    return [{"index": i, "name": s.stem, "image": s.image_path.relative_to(root).as_posix(),
             "preview": f"/api/datasets/{dataset.pk}/preview/{i}.png"}
            for i, s in enumerate(sample_picks(folder, limit))]
