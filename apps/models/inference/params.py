"""Inference job params, declared once (one ``JobParams`` per kind): the fields give types, bounds
and defaults; ``validate`` checks, before anything is queued, what needs the database (400 naming
the field): model family and runnability, ExtractBands vs the raster's bands, processing_extent vs
the raster, and the model's arguments coerced from the package (defaults filled in).
"""
from __future__ import annotations

import re
from typing import Any, ClassVar

from rest_framework import serializers

from apps.jobs.params import Choice, Flag, Geometry, Id, JobParams, Name, Number, Options, Passthrough, Whole
from apps.jobs.registry import ValidationContext
from apps.labeling.layers.geometry import clean_geometry
from apps.labeling.models import Layer, Raster
from apps.models.packages.selectors import model_get_visible
from backend.api.exceptions import InvalidInput, NotFound
from backend.engine.errors import EngineInputError

from .inputs import INPUT_NAMES, MAX_RASTERS, check_model_takes, cleaned_inputs, input_rasters

DETECTION_FAMILIES = ("object_detection", "instance_detection")
FAMILIES = {
    "detect_objects": DETECTION_FAMILIES,
    "classify_pixels": ("pixel_classification",),
    "classify_objects": ("object_classification",),
}
MIN_PART_SIZE = 64
PART_OUT = re.compile(r"jobs/\d+/parts/part-\d{5}\.(ndjson|tif)")
FAMILY_TOOL = {
    "object_detection": "Detect objects", "instance_detection": "Detect objects",
    "pixel_classification": "Classify pixels", "object_classification": "Classify objects",
}
PROCESSORS = ("CPU", "GPU")
ARGUMENTS_HELP = ("The model's arguments (GET /api/models/{id}/info/ lists them with defaults): padding, "
                  "batch_size, threshold, return_bboxes, tile_size, ...; absent ones take the package's defaults.")


def _raster(pk: int, ctx: ValidationContext) -> Raster:
    raster = Raster.objects.filter(pk=pk, project_id=ctx.project_id).first()
    if raster is None:
        raise InvalidInput(f"params.in_raster: no raster {pk} in this project.")
    if raster.status != Raster.Status.READY:
        raise InvalidInput(f"params.in_raster: raster {raster.name!r} is {raster.status}, not ready; "
                           "wait for its ingest to finish.")
    if raster.kind != Raster.Kind.IMAGE:
        raise InvalidInput(f"params.in_raster: {raster.name!r} is a classified raster; pick an image.")
    return raster


def _layer(pk: int, ctx: ValidationContext) -> Layer:
    layer = Layer.objects.filter(pk=pk, project_id=ctx.project_id).first()
    if layer is None:
        raise InvalidInput(f"params.in_layer: no layer {pk} in this project.")
    return layer


def _model(pk: int, ctx: ValidationContext, kind: str) -> tuple[Any, Any]:
    from apps.models.packages.runtimes import runnable_now
    from backend.engine.dlpk.emd import parse_emd

    try:
        package = model_get_visible(ctx.user, pk)
    except NotFound:
        raise InvalidInput(f"params.in_model: model {pk!r} not found.") from None
    wanted = FAMILIES[kind]
    if package.family not in wanted:
        tool = FAMILY_TOOL.get(package.family, "no tool")
        raise InvalidInput(f"params.in_model: {package.title!r} is a {package.family or 'unknown'} model "
                           f"(use it with {tool}); {kind} needs a {' or '.join(wanted)} model.")
    runnable, reason = runnable_now(package)  # TorchScript follows the setting as it is now
    if not runnable:
        raise InvalidInput(f"params.in_model: Rasterlab cannot run {package.title!r}: {reason}")
    return package, parse_emd(package.emd)


def _arguments(given: dict[str, Any], emd: Any) -> dict[str, Any]:
    from backend.engine.dlpk.arguments import coerce_arguments

    try:
        return coerce_arguments(emd, given)
    except EngineInputError as exc:
        raise InvalidInput(f"params.arguments: {exc}.") from exc


def _extent(extent: Any) -> dict[str, Any] | None:
    if extent in (None, {}, ""):
        return None
    clean_geometry(extent, where="params.processing_extent")
    return dict(extent)


def _check_bands(raster: Raster, emd: Any, hint: str) -> None:
    from backend.engine.nets.predictor import band_indices

    bands = band_indices(emd)
    if raster.count is not None and max(bands, default=-1) >= raster.count:
        raise InvalidInput(f"params.in_model: the model reads bands {[b + 1 for b in bands]}{hint} but raster "
                           f"{raster.name!r} has {raster.count} band(s)" + (
                               "; pick a raster with the bands it was trained on or edit the model's ExtractBands."
                               if hint else "."))


def _check_plan(raster: Raster, emd: Any, arguments: dict[str, Any], extent: dict[str, Any] | None,
                cell_size: float | None, part_size: int) -> int:
    """Bands, extent and cell size against the raster; returns the number of parts."""
    from apps.labeling.storage import raster_cog_path
    from backend.engine.inference.planning import input_scale_of, plan_inference, resolve_tiles
    from backend.engine.nets.predictor import band_indices, chip_size_of

    _check_bands(raster, emd, " (ExtractBands)")
    chip, pad = resolve_tiles(chip_size_of(emd), arguments.get("tile_size"), arguments.get("padding"))
    try:
        plan = plan_inference(raster_cog_path(raster.pk), chip_size=chip, padding=pad, extract_bands=band_indices(emd),
                              processing_extent=extent, cell_size=cell_size, part_size=part_size,
                              input_scale=input_scale_of(emd))
    except EngineInputError as exc:
        field = "processing_extent" if extent is not None and "extent" in str(exc).lower() else "in_raster"
        raise InvalidInput(f"params.{field}: raster {raster.name!r}: {exc}") from exc
    return len(plan.parts)


class _Inputs(JobParams):
    """The rasters a model runs over: one of in_raster, in_rasters or in_collection (issue 17)."""

    in_raster = Id(default=None, help_text="The image raster (of this project) to run the model on "
                                            "(or give in_rasters or in_collection).")
    in_rasters = serializers.ListField(child=Id(), required=False, allow_null=True, max_length=MAX_RASTERS,
                                       help_text="Several image rasters of this project, run as one job with one "
                                                 "result; each listed once.")
    in_collection = Id(default=None, help_text="A raster collection of this project: all of its rasters, in order.")

    def inputs(self, attrs: dict[str, Any], emd: Any) -> tuple[dict[str, Any], list[Raster]]:
        """attrs without the three input names, plus what the job stores for them; the rasters in order
        (each checked against the model: bands and pixel type)."""
        field, rasters, collection = input_rasters(attrs, self.job)
        for raster in rasters:
            check_model_takes(raster, emd, "in_model" if field == "in_raster" else field)
        rest = {k: v for k, v in attrs.items() if k not in INPUT_NAMES}
        return {**rest, **cleaned_inputs(field, rasters, collection)}, rasters


class _TiledParams(_Inputs):
    """A model run over rasters, tile by tile, in parts that any worker on the queue may take."""

    reject_unknown = False
    kind: ClassVar[str]
    default_name: ClassVar[str]

    in_model = Id(help_text="The model package to run.")
    arguments = Options(what="model arguments", help_text=ARGUMENTS_HELP)
    processing_extent = Geometry(help_text="Run only inside this GeoJSON Polygon (EPSG:4326); default: everywhere.")
    cell_size = Number(min_value=1e-12, default=None, help_text="Resample to this cell size (raster CRS units).")
    part_size = Whole(min_value=MIN_PART_SIZE, max_value=1 << 20, default=4096,
                      help_text="Pixels per side of one part (one unit of work for one worker).")
    processor_type = Choice(PROCESSORS, upper=True, default="CPU")
    out_name = Name()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        package, emd = _model(attrs["in_model"], self.job, self.kind)
        attrs, rasters = self.inputs(attrs, emd)
        arguments = _arguments(attrs["arguments"], emd)
        extent = _extent(attrs["processing_extent"])
        parts = sum(_check_plan(raster, emd, arguments, extent, attrs["cell_size"], attrs["part_size"])
                    for raster in rasters)
        return {**attrs, "arguments": arguments, "processing_extent": extent, "planned_parts": parts,
                "out_name": attrs.get("out_name") or f"{self.default_name} - {package.title}"[:200]}


class DetectObjectsParams(_TiledParams):
    """Detect Objects Using Deep Learning: a detections layer."""

    kind = "detect_objects"
    default_name = "Detections"
    run_nms = Flag(lenient=True, default=False, help_text="Remove overlapping duplicates after detection.")
    max_overlap_ratio = Number(min_value=0.0, max_value=1.0, default=0.0,
                               help_text="NMS: boxes overlapping more than this (IoU) are duplicates.")
    class_agnostic = Flag(lenient=True, default=False, help_text="NMS across classes, not within each class.")


class ClassifyPixelsParams(_TiledParams):
    """Classify Pixels Using Deep Learning: a classified raster."""

    kind = "classify_pixels"
    default_name = "Classified"


class ClassifyObjectsParams(_Inputs):
    """Classify Objects Using Deep Learning: a copy of the layer with each feature's class."""

    reject_unknown = False
    in_layer = Id(help_text="The layer whose features are classified.")
    in_model = Id(help_text="An object classification model package.")
    arguments = Options(what="model arguments", help_text=ARGUMENTS_HELP)
    processor_type = Choice(PROCESSORS, upper=True, default="CPU")
    out_name = Name()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        layer = _layer(attrs["in_layer"], self.job)
        package, emd = _model(attrs["in_model"], self.job, "classify_objects")
        attrs, _ = self.inputs(attrs, emd)
        arguments = _arguments(attrs["arguments"], emd)
        return {**attrs, "arguments": arguments, "out_name": attrs.get("out_name") or f"{layer.name} - classified"}


class NonMaxSuppressionParams(JobParams):
    """Non Maximum Suppression: a copy of a detections layer without overlapping duplicates."""

    reject_unknown = False
    in_layer = Id(help_text="The detections layer.")
    max_overlap_ratio = Number(min_value=0.0, max_value=1.0, default=0.0,
                               help_text="Boxes overlapping more than this (IoU) are duplicates.")
    class_agnostic = Flag(lenient=True, default=False, help_text="Across classes, not within each class.")
    out_name = Name()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        layer = _layer(attrs["in_layer"], self.job)
        return {**attrs, "out_name": attrs.get("out_name") or f"{layer.name} - NMS"}


class InferencePartParams(JobParams):
    """One part of a detect_objects or classify_pixels job; made by its parent job only (never through
    the API): ``out`` must lie in the scratch folder of a running job of the same kind and project."""

    reject_unknown = False
    parent_kind = Choice(("detect_objects", "classify_pixels"))
    part = Passthrough(help_text="The part's window (engine PartSpec.to_dict()).")
    out = serializers.CharField(help_text="jobs/<id>/parts/part-NNNNN.ndjson|tif")
    in_raster = Id()
    in_model = Id()
    arguments = Options(what="model arguments")

    def validate_out(self, value: str) -> str:
        if not PART_OUT.fullmatch(value):
            raise serializers.ValidationError("must be jobs/<id>/parts/part-NNNNN.ndjson|tif.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        from apps.jobs.models import Job, JobStatus

        parent_id = int(attrs["out"].split("/")[1])
        if not Job.objects.filter(pk=parent_id, project_id=self.job.project_id, kind=attrs["parent_kind"],
                                  status=JobStatus.RUNNING).exists():
            raise InvalidInput("params.out: parts belong to a running job of this project.")
        _raster(attrs["in_raster"], self.job)
        _model(attrs["in_model"], self.job, attrs["parent_kind"])
        return dict(self.initial_data)  # as the parent made them (processor_type and all)
