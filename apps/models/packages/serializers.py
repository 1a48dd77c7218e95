"""API shapes of model packages (input parsing and output only; no domain logic here)."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..package_models import ModelPackage
from .describe import cell_size_json, classes_json, metrics_json, stored_emd
from .runtimes import runnable_now

EDITABLE_FIELDS = ("title", "description", "tags", "shared", "classes", "cell_size", "argument_defaults")


class ModelUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    project = serializers.IntegerField(error_messages={
        "required": "a model belongs to a project: give the id of a project you edit.",
    })
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    shared = serializers.BooleanField(required=False, default=False)


class ExportOnnxRequestSerializer(serializers.Serializer):
    out_name = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                     help_text="Title of the ONNX package (default: '<title> (ONNX)')")


class ModelUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(required=False, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(allow_blank=True, max_length=60), required=False)
    shared = serializers.BooleanField(required=False)
    classes = serializers.JSONField(required=False, help_text="[{value, name, color: [r, g, b]}]; same values")
    cell_size = serializers.JSONField(required=False, allow_null=True, help_text='{"min": m, "max": M} or null')
    argument_defaults = serializers.JSONField(required=False, allow_null=True, help_text='e.g. {"threshold": 0.3}')

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(EDITABLE_FIELDS))
        if unknown:
            raise serializers.ValidationError({
                unknown[0]: f"cannot be edited; editable fields: {', '.join(EDITABLE_FIELDS)}.",
            })
        return attrs


def _username(package: ModelPackage) -> str | None:
    return package.created_by.get_username() if package.created_by else None


class ModelClassSerializer(serializers.Serializer):
    value = serializers.IntegerField()
    name = serializers.CharField()
    color = serializers.ListField(child=serializers.IntegerField(), allow_null=True, help_text="[r, g, b] or null")


class CellSizeSerializer(serializers.Serializer):
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    wkid = serializers.IntegerField(allow_null=True, help_text="spatial reference of the sizes")


class ModelImageSerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.CharField()


class ModelPackageSerializer(serializers.Serializer):
    """Read-only output. Context: `request`, and `writable` (ids of projects the user edits).

    The fields below document the shape (OpenAPI); `to_representation` builds it from the row
    and its parsed .emd in one pass."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    project = serializers.IntegerField()
    project_name = serializers.CharField()
    shared = serializers.BooleanField()
    can_edit = serializers.BooleanField(help_text="the user edits the package's project")
    source = serializers.ChoiceField(choices=ModelPackage.Source.choices)
    framework = serializers.CharField()
    model_type = serializers.CharField(help_text="the .emd ModelType")
    model_name = serializers.CharField()
    architecture = serializers.CharField(help_text="arcgis.learn architecture, when recognised")
    backbone = serializers.CharField()
    family = serializers.CharField(allow_null=True)
    runnable = serializers.BooleanField()
    runnable_reason = serializers.CharField()
    model_io = serializers.DictField(help_text="ONNX/TorchScript: {runtime, opset, producer, inputs: [{name, shape, "
                                               "type}], outputs: [...], io: {input, scaling, outputs, labels}}; "
                                               "{} for PyTorch packages")
    classes = ModelClassSerializer(many=True)
    image_height = serializers.IntegerField(allow_null=True)
    image_width = serializers.IntegerField(allow_null=True)
    extract_bands = serializers.ListField(child=serializers.JSONField(), allow_null=True)
    is_multispectral = serializers.BooleanField(allow_null=True)
    cell_size = CellSizeSerializer(allow_null=True, help_text="recommended range (MinCellSize..MaxCellSize)")
    metrics = serializers.DictField()
    argument_defaults = serializers.DictField()
    emd = serializers.DictField(help_text="the .emd as stored in the package")
    emd_name = serializers.CharField()
    model_file = serializers.CharField(help_text="the weights member ModelFile names")
    file_name = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    images = ModelImageSerializer(many=True)
    download_url = serializers.CharField()
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, package: ModelPackage) -> dict[str, Any]:
        emd = stored_emd(package.emd)
        writable = self.context.get("writable", set())
        runnable, reason = runnable_now(package)
        base = f"/api/models/{package.pk}/"
        return {
            "id": package.pk,
            "title": package.title,
            "description": package.description,
            "tags": package.tags,
            "project": package.project_id,
            "project_name": package.project.name,
            "shared": package.shared,
            "can_edit": package.project_id in writable,
            "source": package.source,
            "framework": package.framework,
            "model_type": package.model_type,
            "model_name": package.model_name,
            "architecture": package.architecture,
            "backbone": package.backbone,
            "family": package.family or None,
            "runnable": runnable,
            "runnable_reason": reason,
            "model_io": package.model_io or {},
            "classes": classes_json(emd),
            "image_height": emd.image_height,
            "image_width": emd.image_width,
            "extract_bands": list(emd.extract_bands) if emd.extract_bands is not None else None,
            "is_multispectral": emd.is_multispectral,
            "cell_size": cell_size_json(emd),
            "metrics": metrics_json(emd),
            "argument_defaults": emd.argument_defaults or {},
            "emd": package.emd,
            "emd_name": package.emd_name,
            "model_file": package.model_file,
            "file_name": package.file_name,
            "size": package.size,
            "sha256": package.sha256,
            "images": [{"name": name, "url": f"{base}files/{name}"} for name in package.images],
            "download_url": f"{base}download/",
            "created_by": _username(package),
            "created_at": package.created_at,
            "updated_at": package.updated_at,
        }


class ModelArgumentSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=["int", "float", "bool", "str", "choice"])
    default = serializers.JSONField()
    description = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField(), allow_null=True)
    minimum = serializers.FloatField(allow_null=True)
    maximum = serializers.FloatField(allow_null=True, help_text="padding: at the default tile size")


class ModelInfoSerializer(serializers.Serializer):
    """`GET /api/models/{id}/info/` (documentation of the shape)."""

    id = serializers.IntegerField()
    family = serializers.CharField(allow_null=True)
    runnable = serializers.BooleanField()
    runnable_reason = serializers.CharField()
    arguments = ModelArgumentSerializer(many=True)
