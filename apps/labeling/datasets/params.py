"""Validation of export_training_data params (Django side of backend.engine.chips.ExportParams)."""
from __future__ import annotations

from typing import Any

from shapely.geometry import box, shape

from backend.api.exceptions import InvalidInput
from backend.api.params import MAX_ID
from backend.engine.chips.params import ClassDef, ExportParams, validate_classes
from backend.engine.errors import EngineInputError

from ..models import Layer, Project, Raster

# Engine parameters a client may pass (defaults: ExportParams's).
ENGINE_FIELDS = (
    "metadata_format", "tile_size_x", "tile_size_y", "stride_x", "stride_y", "cell_size",
    "output_nofeature_tiles", "min_polygon_overlap_ratio", "rotation_angle", "image_chip_format",
    "start_index", "crop_mode", "blacken_around_feature", "buffer_radius",
)
KNOWN = {*ENGINE_FIELDS, "in_rasters", "in_layer", "processing_extent", "out_name", "only_accepted"}
MAX_RASTERS = 100


def _bad(field: str, why: str) -> InvalidInput:
    return InvalidInput(f"params.{field}: {why}")


def layer_classes(layer: Layer, project: Project) -> list[dict[str, Any]]:
    """A detections layer keeps its model's classes; labels use the project's schema."""
    return list(layer.classes or project.classes or [])


def class_defs(classes: list[dict[str, Any]]) -> tuple[ClassDef, ...]:
    return tuple(ClassDef(int(c["value"]), str(c["name"]), tuple(c.get("color") or (255, 0, 0))[:3])  # type: ignore[arg-type]
                 for c in classes)


def extent_geometry(value: Any) -> Any:
    if value is None:
        return None
    try:
        geom = shape(value)
    except Exception:  # noqa: BLE001 - any malformed GeoJSON
        raise _bad("processing_extent", "must be a GeoJSON Polygon or MultiPolygon in EPSG:4326.") from None
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty or not geom.is_valid:
        raise _bad("processing_extent", "must be a valid, non-empty GeoJSON Polygon or MultiPolygon in EPSG:4326.")
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise _bad("processing_extent", "coordinates must be longitude/latitude (EPSG:4326).")
    return geom


def engine_params(cleaned: dict[str, Any]) -> ExportParams:
    values = {name: cleaned[name] for name in ENGINE_FIELDS if name in cleaned}
    return ExportParams(**values, processing_extent=extent_geometry(cleaned.get("processing_extent")))


def clean_export_params(params: dict[str, Any], project_id: int) -> dict[str, Any]:
    unknown = sorted(set(params) - KNOWN)
    if unknown:
        raise _bad(unknown[0], f"unknown parameter; expected some of {', '.join(sorted(KNOWN))}.")
    project = Project.objects.get(pk=project_id)

    raster_ids = params.get("in_rasters")
    if isinstance(raster_ids, int) and not isinstance(raster_ids, bool):
        raster_ids = [raster_ids]
    if (not isinstance(raster_ids, list) or not raster_ids or len(raster_ids) > MAX_RASTERS
            or not all(isinstance(r, int) and not isinstance(r, bool) and 1 <= r <= MAX_ID for r in raster_ids)):
        raise _bad("in_rasters", f"must be a list of 1 to {MAX_RASTERS} raster ids of this project.")
    raster_ids = list(dict.fromkeys(raster_ids))
    rasters = {r.pk: r for r in Raster.objects.filter(pk__in=raster_ids, project_id=project_id)}
    for raster_id in raster_ids:
        raster = rasters.get(raster_id)
        if raster is None:
            raise _bad("in_rasters", f"{raster_id} is not a raster of this project.")
        if raster.status != Raster.Status.READY:
            raise _bad("in_rasters", f"raster {raster.name!r} is {raster.status}; wait until it is ready.")

    layer_id = params.get("in_layer")
    layer = None
    if isinstance(layer_id, int) and not isinstance(layer_id, bool) and 1 <= layer_id <= MAX_ID:
        layer = Layer.objects.filter(pk=layer_id, project_id=project_id).first()
    if layer is None:
        raise _bad("in_layer", "must be the id of a layer of this project.")

    cleaned: dict[str, Any] = {"in_rasters": raster_ids, "in_layer": layer.pk}
    for name in ENGINE_FIELDS:
        if name in params and not (params[name] is None and name not in ("cell_size", "buffer_radius")):
            value = params[name]
            # JSON numbers: accept 2.0 for whole-number fields and ints for float fields.
            if isinstance(value, float) and value.is_integer() and name in (
                    "tile_size_x", "tile_size_y", "stride_x", "stride_y", "start_index"):
                value = int(value)
            cleaned[name] = value
    if "only_accepted" in params:
        if not isinstance(params["only_accepted"], bool):
            raise _bad("only_accepted", "must be true (only features a reviewer accepted) or false.")
        cleaned["only_accepted"] = params["only_accepted"]
    if "metadata_format" not in cleaned:
        raise _bad("metadata_format", "is required (PASCAL_VOC_rectangles, KITTI_rectangles, RCNN_Masks, "
                                      "Classified_Tiles, Labeled_Tiles or COCO).")
    # ArcGIS's defaults: y sizes follow x, strides are half a tile (256/128).
    cleaned.setdefault("tile_size_x", 256)
    cleaned.setdefault("tile_size_y", cleaned["tile_size_x"])
    for axis in ("x", "y"):
        size = cleaned[f"tile_size_{axis}"]
        if f"stride_{axis}" not in cleaned and isinstance(size, int):
            cleaned[f"stride_{axis}"] = max(1, size // 2)
    if params.get("processing_extent") is not None:
        cleaned["processing_extent"] = params["processing_extent"]
    try:
        export = engine_params(cleaned)
        export.validate()
    except EngineInputError as exc:
        raise InvalidInput(f"params.{exc}") from None
    extent = export.processing_extent
    if extent is not None and not any(rasters[r].bounds and extent.intersects(box(*rasters[r].bounds))
                                     for r in raster_ids):
        # Found now, not by the job after it ran (detection answers the same up front).
        raise _bad("processing_extent", "does not overlap any of the in_rasters; draw it over the imagery.")

    classes = layer_classes(layer, project)
    if not classes:
        raise _bad("in_layer", "has no classes: add classes to the project's schema first.")
    try:
        validate_classes(class_defs(classes), cleaned["metadata_format"])
    except EngineInputError as exc:
        raise _bad("in_layer", f"class schema cannot be exported: {exc}") from None

    name = params.get("out_name")
    if name is not None and not isinstance(name, str):
        raise _bad("out_name", "must be text.")
    name = (name or "").strip() or f"{layer.name} - {cleaned['metadata_format']}"
    cleaned["out_name"] = name[:200]
    return cleaned
