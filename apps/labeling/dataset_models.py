"""Exported training datasets (Export Training Data For Deep Learning, issue 6).

A row is created when an ``export_training_data`` job starts (status ``exporting``) and becomes
``ready`` once the folder sits in DATA_DIR/datasets/<id>/. A failed or cancelled export deletes its
row and folder (the job kind's on_abort), so only exporting and ready datasets exist.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["Dataset"]


class Dataset(models.Model):
    class Status(models.TextChoices):
        EXPORTING = "exporting"
        READY = "ready"

    project = models.ForeignKey("labeling.Project", on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.EXPORTING)
    job_id = models.BigIntegerField(null=True, blank=True, unique=True)
    # What it was made from and how (the job's cleaned params; ids may outlive their rasters/layer).
    params = models.JSONField(default=dict, blank=True)
    metadata_format = models.CharField(max_length=32)
    image_chip_format = models.CharField(max_length=8, default="TIFF")
    # Summary of a ready export.
    chip_count = models.IntegerField(default=0)
    feature_count = models.IntegerField(default=0)
    tile_size_x = models.IntegerField(default=0)
    tile_size_y = models.IntegerField(default=0)
    band_count = models.IntegerField(default=0)
    dtype = models.CharField(max_length=16, blank=True, default="")
    classes = models.JSONField(default=list, blank=True)  # [{value, name, color}]
    class_stats = models.JSONField(default=list, blank=True)  # [{value, name, images, features, pixels}]
    warnings = models.JSONField(default=list, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name
