"""Raster collections: reads (limited to what a user may see) and writes (editors and owners).

The raster list of a collection is always given whole (``rasters: [id, ...]`` in its order) and
checked whole: every id must be a ready image raster of the collection's project, listed once.
"""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from backend.api.exceptions import InvalidInput, NotFound

from .models import Collection, CollectionItem, Project, Raster
from .permissions import require_role, visible_project_ids

MAX_RASTERS = 100


def collections_for(user: Any) -> QuerySet[Collection]:
    return Collection.objects.filter(project_id__in=visible_project_ids(user))


def collection_get(user: Any, collection_id: int) -> Collection:
    collection = collections_for(user).filter(pk=collection_id).first()
    if collection is None:
        raise NotFound("Collection not found.")
    return collection


def collection_rasters(collection: Collection) -> list[Raster]:
    """The collection's rasters in its order."""
    items = CollectionItem.objects.filter(collection=collection).select_related("raster").order_by("position", "pk")
    return [item.raster for item in items]


def check_project_rasters(project_id: int, ids: Any, field: str, *, images_only: bool = True,
                          must_be_ready: bool = True) -> list[Raster]:
    """``ids`` as the project's rasters, in the given order; InvalidInput naming the raster otherwise
    (not a list, another project's, listed twice, not ready, a classified raster)."""
    if (not isinstance(ids, list) or not ids or len(ids) > MAX_RASTERS
            or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 1 for i in ids)):
        raise InvalidInput(f"{field}: must be a list of 1 to {MAX_RASTERS} raster ids.")
    seen: set[int] = set()
    for raster_id in ids:
        if raster_id in seen:
            raise InvalidInput(f"{field}: raster {raster_id} is listed twice; list each raster once.")
        seen.add(raster_id)
    found = {r.pk: r for r in Raster.objects.filter(pk__in=ids, project_id=project_id)}
    rasters = []
    for raster_id in ids:
        raster = found.get(raster_id)
        if raster is None:
            raise InvalidInput(f"{field}: no raster {raster_id} in this project.")
        if must_be_ready and raster.status != Raster.Status.READY:
            raise InvalidInput(f"{field}: raster {raster.name!r} is {raster.status}, not ready; "
                               "wait for its ingest to finish.")
        if images_only and raster.kind != Raster.Kind.IMAGE:
            raise InvalidInput(f"{field}: {raster.name!r} is a classified raster; pick an image.")
        rasters.append(raster)
    return rasters


def _set_items(collection: Collection, rasters: list[Raster]) -> None:
    CollectionItem.objects.filter(collection=collection).delete()
    CollectionItem.objects.bulk_create(
        CollectionItem(collection=collection, raster=raster, position=i) for i, raster in enumerate(rasters))


def collection_create(*, user: Any, project: Project, name: str, rasters: list[int],
                      description: str = "") -> Collection:
    require_role(user, project.pk, write=True)
    checked = check_project_rasters(project.pk, rasters, "rasters", must_be_ready=False)
    with transaction.atomic():
        collection = Collection.objects.create(project=project, name=name, description=description, created_by=user)
        _set_items(collection, checked)
    return collection


def collection_update(*, user: Any, collection: Collection, **fields: Any) -> Collection:
    """Rename, describe, or replace the raster list (order included)."""
    require_role(user, collection.project_id, write=True)
    with transaction.atomic():
        for name in ("name", "description"):
            if name in fields:
                setattr(collection, name, fields[name])
        collection.save()
        if "rasters" in fields:
            _set_items(collection, check_project_rasters(collection.project_id, fields["rasters"], "rasters",
                                                         must_be_ready=False))
    return collection


def collection_delete(*, user: Any, collection: Collection) -> None:
    """The collection only: its rasters stay in the project."""
    require_role(user, collection.project_id, write=True)
    collection.delete()
