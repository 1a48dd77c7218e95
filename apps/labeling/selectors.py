"""Reads for projects and rasters, limited to what a user may see (404 otherwise)."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from backend.api.exceptions import NotFound

from .models import Project, Raster
from .permissions import visible_project_ids


def projects_for(user: Any) -> QuerySet[Project]:
    return Project.objects.filter(pk__in=visible_project_ids(user))


def project_get(user: Any, project_id: int) -> Project:
    project = projects_for(user).filter(pk=project_id).first()
    if project is None:
        raise NotFound("Project not found.")
    return project


def rasters_for(user: Any) -> QuerySet[Raster]:
    return Raster.objects.filter(project_id__in=visible_project_ids(user))


def raster_get(user: Any, raster_id: int) -> Raster:
    raster = rasters_for(user).filter(pk=raster_id).first()
    if raster is None:
        raise NotFound("Raster not found.")
    return raster
