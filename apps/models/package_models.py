"""Model package items: one uploaded or trained .dlpk (an Esri deep-learning package).

The package file itself lives under RASTERLAB_DATA_DIR/models/<id>/ (see packages/storage.py);
the row keeps the current .emd (as JSON) and copies of the fields the catalog lists, searches and
filters on. Every change of the .emd goes through packages/services.py, which rewrites the stored
package and these columns together.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["ModelPackage"]


class ModelPackage(models.Model):
    class Source(models.TextChoices):
        UPLOAD = "upload"
        TRAINING = "training"
        EXPORT = "export"  # an ONNX package exported from another model (issue 18)

    # Required: permissions follow the project (members see it, editors and owners change it).
    project = models.ForeignKey("labeling.Project", on_delete=models.CASCADE, related_name="model_packages")
    # Shared packages are visible (read-only) to every logged-in user.
    shared = models.BooleanField(default=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.UPLOAD)

    # From the .emd (kept in step with `emd` by the services).
    framework = models.CharField(max_length=200, blank=True, default="")
    model_type = models.CharField(max_length=64, blank=True, default="")
    model_name = models.CharField(max_length=200, blank=True, default="")
    architecture = models.CharField(max_length=64, blank=True, default="")
    backbone = models.CharField(max_length=100, blank=True, default="")
    family = models.CharField(max_length=32, blank=True, default="")
    runnable = models.BooleanField(default=False)
    runnable_reason = models.TextField(blank=True, default="")
    emd = models.JSONField(default=dict)
    emd_name = models.CharField(max_length=255)
    # The member ModelFile names, resolved as ArcGIS does (e.g. ".\\x.pth" -> "x.pth"); "" if none.
    model_file = models.CharField(max_length=1000, blank=True, default="")

    # The stored file: as uploaded, then rewritten by edits (sha256/size follow the file).
    file_name = models.CharField(max_length=255, blank=True, default="")
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, db_index=True)
    # SHA-256 of the file as first stored: re-uploading it is detected even after edits.
    original_sha256 = models.CharField(max_length=64)
    # ModelCharacteristics/*.png members (loss curve, sample results), served by the API.
    images = models.JSONField(default=list, blank=True)
    # ONNX / TorchScript packages: the inputs and outputs found in the file (engine ModelSignature)
    model_io = models.JSONField(default=dict, blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "original_sha256"], name="one_package_upload_per_project"),
        ]

    def __str__(self) -> str:
        return self.title


# Files follow their row, whichever way it goes (model_delete, a project deleted with CASCADE).
from .packages import signals  # noqa: E402,F401
