"""Raster collections (issue 17): a named, ordered set of a project's rasters, e.g. monthly images
of one area or images of several areas, run through one inference job.

The rasters keep their own acquisition date (``Raster.acquired``); a collection only orders them
(``position``). Rasters of different sizes, CRSs and resolutions may share a collection.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["Collection", "CollectionItem"]


class Collection(models.Model):
    project = models.ForeignKey("labeling.Project", on_delete=models.CASCADE, related_name="collections")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    raster = models.ForeignKey("labeling.Raster", on_delete=models.CASCADE, related_name="collection_items")
    position = models.IntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["collection", "raster"], name="raster_once_per_collection")]
