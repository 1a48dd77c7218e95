"""Validation of inference job params, before anything is queued (400 naming the field to fix).

Each ``validate_*`` takes the raw params and a ValidationContext and returns the cleaned params that
the job stores; the model's arguments come back coerced (defaults filled in from the package).
"""
from __future__ import annotations

import re
from typing import Any

from apps.jobs.registry import ValidationContext
from apps.labeling.layers.geometry import clean_geometry
from apps.labeling.models import Layer, Raster
from apps.labeling.storage import raster_cog_path
from apps.models.packages.selectors import model_get_visible
from backend.api.exceptions import InvalidInput, NotFound
from backend.api.params import MAX_ID, parse_bool
from backend.engine.dlpk.arguments import coerce_arguments
from backend.engine.dlpk.emd import Emd, parse_emd
from backend.engine.errors import EngineInputError
from backend.engine.inference.planning import plan_inference, resolve_tiles
from backend.engine.nets.predictor import band_indices, chip_size_of

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


def _int_id(params: dict[str, Any], name: str) -> int:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidInput(f"params.{name}: must be an id (a whole number from 1 to {MAX_ID}), got {value!r}.")
    return value


def _raster(params: dict[str, Any], ctx: ValidationContext) -> Raster:
    pk = _int_id(params, "in_raster")
    raster = Raster.objects.filter(pk=pk, project_id=ctx.project_id).first()
    if raster is None:
        raise InvalidInput(f"params.in_raster: no raster {pk} in this project.")
    if raster.status != Raster.Status.READY:
        raise InvalidInput(f"params.in_raster: raster {raster.name!r} is {raster.status}, not ready; "
                           "wait for its ingest to finish.")
    if raster.kind != Raster.Kind.IMAGE:
        raise InvalidInput(f"params.in_raster: {raster.name!r} is a classified raster; pick an image.")
    return raster


def _layer(params: dict[str, Any], ctx: ValidationContext) -> Layer:
    pk = _int_id(params, "in_layer")
    layer = Layer.objects.filter(pk=pk, project_id=ctx.project_id).first()
    if layer is None:
        raise InvalidInput(f"params.in_layer: no layer {pk} in this project.")
    return layer


def _model(params: dict[str, Any], ctx: ValidationContext, kind: str) -> tuple[Any, Emd]:
    try:
        package = model_get_visible(ctx.user, _int_id(params, "in_model"))
    except NotFound:
        raise InvalidInput(f"params.in_model: model {params.get('in_model')!r} not found.") from None
    wanted = FAMILIES[kind]
    if package.family not in wanted:
        tool = FAMILY_TOOL.get(package.family, "no tool")
        raise InvalidInput(f"params.in_model: {package.title!r} is a {package.family or 'unknown'} model "
                           f"(use it with {tool}); {kind} needs a {' or '.join(wanted)} model.")
    if not package.runnable:
        raise InvalidInput(f"params.in_model: Rasterlab cannot run {package.title!r}: {package.runnable_reason}")
    return package, parse_emd(package.emd)


def _arguments(params: dict[str, Any], emd: Emd) -> dict[str, Any]:
    given = params.get("arguments") or {}
    if not isinstance(given, dict):
        raise InvalidInput("params.arguments: must be an object of model arguments.")
    try:
        return coerce_arguments(emd, given)
    except EngineInputError as exc:
        raise InvalidInput(f"params.arguments: {exc}.") from exc


def _number(params: dict[str, Any], name: str, default: float | None, lo: float, hi: float | None) -> float | None:
    value = params.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < lo or (hi is not None and value > hi):
        span = f"between {lo} and {hi}" if hi is not None else f"above {lo}"
        raise InvalidInput(f"params.{name}: must be a number {span}, got {value!r}.")
    return float(value)


def _processor(params: dict[str, Any]) -> str:
    value = str(params.get("processor_type") or "CPU").upper()
    if value not in ("CPU", "GPU"):
        raise InvalidInput("params.processor_type: must be CPU or GPU.")
    return value


def _out_name(params: dict[str, Any], default: str) -> str:
    name = params.get("out_name") or default
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("params.out_name: must be a non-empty name.")
    return name.strip()[:200]


def _extent(params: dict[str, Any]) -> dict[str, Any] | None:
    extent = params.get("processing_extent")
    if extent in (None, {}, ""):
        return None
    clean_geometry(extent, where="params.processing_extent")
    return dict(extent)


def _check_plan(raster: Raster, emd: Emd, arguments: dict[str, Any], extent: dict[str, Any] | None,
                cell_size: float | None, part_size: int) -> int:
    """Bands, extent and cell size against the raster; returns the number of parts."""
    bands = band_indices(emd)
    if raster.count is not None and max(bands, default=-1) >= raster.count:
        raise InvalidInput(
            f"params.in_model: the model reads bands {[b + 1 for b in bands]} (ExtractBands) but raster "
            f"{raster.name!r} has {raster.count} band(s); pick a raster with the bands it was trained on "
            "or edit the model's ExtractBands.")
    chip, pad = resolve_tiles(chip_size_of(emd), arguments.get("tile_size"), arguments.get("padding"))
    try:
        plan = plan_inference(raster_cog_path(raster.pk), chip_size=chip, padding=pad, extract_bands=bands,
                              processing_extent=extent, cell_size=cell_size, part_size=part_size)
    except EngineInputError as exc:
        field = "processing_extent" if extent is not None and "extent" in str(exc).lower() else "in_raster"
        raise InvalidInput(f"params.{field}: {exc}") from exc
    return len(plan.parts)


def _tiled(params: dict[str, Any], ctx: ValidationContext, kind: str, default_name: str) -> dict[str, Any]:
    raster = _raster(params, ctx)
    package, emd = _model(params, ctx, kind)
    arguments = _arguments(params, emd)
    extent = _extent(params)
    cell_size = _number(params, "cell_size", None, 1e-12, None)
    part_size = int(_number(params, "part_size", 4096, MIN_PART_SIZE, 1 << 20) or 4096)
    parts = _check_plan(raster, emd, arguments, extent, cell_size, part_size)
    return {
        "in_raster": raster.pk, "in_model": package.pk, "arguments": arguments, "processing_extent": extent,
        "cell_size": cell_size, "part_size": part_size, "processor_type": _processor(params),
        "out_name": _out_name(params, f"{default_name} - {package.title}"), "planned_parts": parts,
    }


def validate_detect_objects(params: dict[str, Any], ctx: ValidationContext) -> dict[str, Any]:
    cleaned = _tiled(params, ctx, "detect_objects", "Detections")
    # "false" must be False: bool("false") is True.
    cleaned["run_nms"] = parse_bool(params.get("run_nms", False), "params.run_nms")
    cleaned["max_overlap_ratio"] = _number(params, "max_overlap_ratio", 0.0, 0.0, 1.0)
    cleaned["class_agnostic"] = parse_bool(params.get("class_agnostic", False), "params.class_agnostic")
    return cleaned


def validate_classify_pixels(params: dict[str, Any], ctx: ValidationContext) -> dict[str, Any]:
    return _tiled(params, ctx, "classify_pixels", "Classified")


def validate_classify_objects(params: dict[str, Any], ctx: ValidationContext) -> dict[str, Any]:
    raster = _raster(params, ctx)
    layer = _layer(params, ctx)
    package, emd = _model(params, ctx, "classify_objects")
    arguments = _arguments(params, emd)
    bands = band_indices(emd)
    if raster.count is not None and max(bands, default=-1) >= raster.count:
        raise InvalidInput(f"params.in_model: the model reads bands {[b + 1 for b in bands]} but raster "
                           f"{raster.name!r} has {raster.count} band(s).")
    return {
        "in_raster": raster.pk, "in_layer": layer.pk, "in_model": package.pk, "arguments": arguments,
        "processor_type": _processor(params), "out_name": _out_name(params, f"{layer.name} - classified"),
    }


def validate_nms(params: dict[str, Any], ctx: ValidationContext) -> dict[str, Any]:
    layer = _layer(params, ctx)
    return {
        "in_layer": layer.pk, "max_overlap_ratio": _number(params, "max_overlap_ratio", 0.0, 0.0, 1.0),
        "class_agnostic": parse_bool(params.get("class_agnostic", False), "params.class_agnostic"),
        "out_name": _out_name(params, f"{layer.name} - NMS"),
    }


def validate_part(params: dict[str, Any], ctx: ValidationContext) -> dict[str, Any]:
    """Parts are made by their parent job only (never through the API: see jobkinds)."""
    for key in ("parent_kind", "part", "out", "in_raster", "in_model", "arguments"):
        if key not in params:
            raise InvalidInput(f"params.{key}: missing (parts are started by inference jobs).")
    if params["parent_kind"] not in ("detect_objects", "classify_pixels"):
        raise InvalidInput("params.parent_kind: must be detect_objects or classify_pixels.")
    if not isinstance(params["out"], str) or not PART_OUT.fullmatch(params["out"]):
        raise InvalidInput("params.out: must be jobs/<id>/parts/part-NNNNN.ndjson|tif.")
    # Only into the scratch folder of a running job of the same kind in the same project.
    from apps.jobs.models import Job, JobStatus

    parent_id = int(params["out"].split("/")[1])
    if not Job.objects.filter(pk=parent_id, project_id=ctx.project_id, kind=params["parent_kind"],
                              status=JobStatus.RUNNING).exists():
        raise InvalidInput("params.out: parts belong to a running job of this project.")
    _raster(params, ctx)
    _model(params, ctx, params["parent_kind"])
    return params
