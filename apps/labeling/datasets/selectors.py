"""Reads of datasets, limited to what a user may see (404 otherwise)."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from backend.api.exceptions import InvalidInput, NotFound

from ..models import Dataset
from ..permissions import visible_project_ids


def datasets_for(user: Any, project: int | None = None) -> QuerySet[Dataset]:
    qs = Dataset.objects.filter(project_id__in=visible_project_ids(user)).select_related("created_by")
    if project is not None:
        qs = qs.filter(project_id=project)
    return qs


def dataset_get(user: Any, dataset_id: Any) -> Dataset:
    try:
        pk = int(dataset_id)
    except (TypeError, ValueError):
        raise InvalidInput(f"dataset: {dataset_id!r} is not a dataset id.") from None
    dataset = datasets_for(user).filter(pk=pk).first()
    if dataset is None:
        raise NotFound("Dataset not found.")
    return dataset
