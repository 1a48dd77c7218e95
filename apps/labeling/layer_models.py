"""Layers (labels drawn by people, detections and classified objects made by models) and their
features.

Storage choices (see apps/labeling/layers/ for the code that relies on them):
- geometry is GeoJSON text in EPSG:4326, the API's own shape, so lists are written without
  re-encoding; its bbox (minx, miny, maxx, maxy) lives in indexed float columns so that a bbox
  query is an index range scan on SQLite and PostgreSQL alike (no spatial extension needed).
  ``Layer.max_span`` (the largest feature width or height ever stored) bounds that scan on both
  sides: a feature meeting [w, e] has minx in [w - max_span, e].
- every committed change of a layer takes the next ``Layer.seq`` (the layer row is locked while the
  change commits, so seq order is commit order); the feature keeps the seq of its last change and
  a deleted feature leaves a ``DeletedFeature`` with its seq. ``?since=<seq>`` resyncs from that.
- ``version`` counts the changes of one feature; writes are conditional on it (no lost updates).
- ``review_status`` is set by reviewers through the same versioned PATCH (a review is a change).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["Layer", "Feature", "DeletedFeature"]


class Layer(models.Model):
    class Kind(models.TextChoices):
        LABELS = "labels"
        DETECTIONS = "detections"
        CLASSIFIED = "classified"

    project = models.ForeignKey("labeling.Project", on_delete=models.CASCADE, related_name="layers")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.LABELS)
    # The job (detect_objects, classify_objects, NMS...) that made the layer, if any.
    source_job_id = models.BigIntegerField(null=True, blank=True)
    # A model's own class table for detections ([{value, name, color}]); labels use the project's.
    classes = models.JSONField(default=list, blank=True)
    feature_count = models.IntegerField(default=0)
    seq = models.BigIntegerField(default=0)
    max_span = models.FloatField(default=0.0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Feature(models.Model):
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="features")
    class_value = models.IntegerField(null=True, blank=True)
    # Detections keep the model's class name; labels take theirs from the project's schema.
    class_name = models.CharField(max_length=200, blank=True, default="")
    # 0..1 for model output; NULL for features drawn by people (kept by every min_confidence).
    confidence = models.FloatField(null=True, blank=True)
    raster = models.ForeignKey("labeling.Raster", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    geom_type = models.CharField(max_length=16)
    geometry = models.TextField()
    minx = models.FloatField()
    miny = models.FloatField()
    maxx = models.FloatField()
    maxy = models.FloatField()
    # Other attributes (e.g. the fields of an imported file).
    attributes = models.JSONField(default=dict, blank=True)
    version = models.IntegerField(default=1)
    seq = models.BigIntegerField(default=0)
    # Review (as in CVAT / Deep Learning Studio): "" not reviewed yet, "accepted" or "rejected".
    review_status = models.CharField(max_length=8, blank=True, default="")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # bbox: range on minx (bounded by max_span), the other edges checked inside the index.
            models.Index(fields=["layer", "minx", "miny", "maxx", "maxy"], name="feature_bbox"),
            models.Index(fields=["layer", "confidence"], name="feature_confidence"),
            models.Index(fields=["layer", "class_value"], name="feature_class"),
            models.Index(fields=["layer", "seq"], name="feature_seq"),
        ]

    def __str__(self) -> str:
        return f"feature {self.pk} of layer {self.layer_id}"


class DeletedFeature(models.Model):
    """What a resync (?since=<seq>) needs to know about a deleted feature."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="+")
    feature_id = models.BigIntegerField()
    seq = models.BigIntegerField()
    deleted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    deleted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["layer", "seq"], name="deleted_feature_seq")]
