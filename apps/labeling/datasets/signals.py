"""A deleted Dataset row takes its folder with it, however it goes (API, project delete cascade,
admin), once the deleting transaction commits."""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete

from ..models import Dataset
from .storage import remove_dataset_files


def _files_go_too(sender: Any, instance: Dataset, **kwargs: Any) -> None:
    dataset_id = instance.pk
    transaction.on_commit(lambda: remove_dataset_files(dataset_id))


def connect() -> None:
    post_delete.connect(_files_go_too, sender=Dataset, dispatch_uid="dataset-files")
