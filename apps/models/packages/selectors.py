"""Reads of model packages, limited to what a user may see (404 otherwise)."""
from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from backend.api.exceptions import InvalidInput, NotFound

from ..package_models import ModelPackage
from .permissions import visible_filter


def models_for(
    user: Any,
    *,
    project: int | None = None,
    search: str = "",
    model_type: str = "",
    family: str = "",
    shared: bool | None = None,
    runnable: bool | None = None,
) -> QuerySet[ModelPackage]:
    """Visible packages, newest first. `search` matches title, description, tags, model name,
    architecture and backbone (case-insensitive); `model_type` is the .emd ModelType."""
    qs = ModelPackage.objects.filter(visible_filter(user)).select_related("project", "created_by")
    if project is not None:
        qs = qs.filter(project_id=project)
    if model_type:
        qs = qs.filter(model_type=model_type)
    if family:
        qs = qs.filter(family=family)
    if shared is not None:
        qs = qs.filter(shared=shared)
    if runnable is not None:
        qs = qs.filter(runnable=runnable)
    for word in search.split():
        qs = qs.filter(
            Q(title__icontains=word) | Q(description__icontains=word) | Q(tags__icontains=word)
            | Q(model_name__icontains=word) | Q(architecture__icontains=word) | Q(backbone__icontains=word)
        )
    return qs


def model_get_visible(user: Any, package_id: int | str) -> ModelPackage:
    """The package if `user` may see it (a member of its project, or it is shared); else 404."""
    try:
        pk = int(package_id)
    except (TypeError, ValueError):
        raise InvalidInput(f"model: {package_id!r} is not a model id.") from None
    package = models_for(user).filter(pk=pk).first()
    if package is None:
        raise NotFound("Model not found.")
    return package
