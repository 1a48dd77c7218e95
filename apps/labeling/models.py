from __future__ import annotations

from django.conf import settings
from django.db import models


class Project(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    # The class schema shared by everyone on the project: [{value, name, color: [r, g, b]}].
    classes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        EDITOR = "editor"
        REVIEWER = "reviewer"
        VIEWER = "viewer"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="one_membership_per_user")]


class Raster(models.Model):
    class Status(models.TextChoices):
        PROCESSING = "processing"
        READY = "ready"
        FAILED = "failed"

    class Kind(models.TextChoices):
        IMAGE = "image"
        CLASSIFIED = "classified"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="rasters")
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.IMAGE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROCESSING)
    error = models.TextField(blank=True, default="")
    crs = models.TextField(blank=True, default="")
    # Bounds in EPSG:4326 (west, south, east, north), indexed for extent queries.
    west = models.FloatField(null=True)
    south = models.FloatField(null=True)
    east = models.FloatField(null=True)
    north = models.FloatField(null=True)
    width = models.IntegerField(null=True)
    height = models.IntegerField(null=True)
    count = models.IntegerField(null=True)
    dtype = models.CharField(max_length=16, blank=True, default="")
    nodata = models.FloatField(null=True)
    resolution_x = models.FloatField(null=True)
    resolution_y = models.FloatField(null=True)
    statistics = models.JSONField(default=dict, blank=True)
    # Classified rasters: the class table ([{value, name, color}]) used for colors and the legend.
    classes = models.JSONField(default=list, blank=True)
    source_job_id = models.BigIntegerField(null=True, blank=True)
    ingest_job_id = models.BigIntegerField(null=True, blank=True)
    file_size = models.BigIntegerField(default=0)
    # When the imagery was captured (from the file's tags at upload, or set by a user): orders a
    # collection's time steps and dates its results.
    acquired = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def bounds(self) -> list[float] | None:
        if self.west is None:
            return None
        return [self.west, self.south, self.east, self.north]


# Layers and features (the co-edited labels) live in their own module.
from .layer_models import *  # noqa: E402,F401,F403
from .dataset_models import *  # noqa: E402,F401,F403
from .collection_models import *  # noqa: E402,F401,F403
