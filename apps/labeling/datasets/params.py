"""export_training_data params, declared once (``ExportTrainingDataParams``, the Django side of
backend.engine.chips.ExportParams, whose defaults it shows): the fields give types, bounds and
defaults; ``validate`` checks the rasters, layer and classes of the project and the engine's rules."""
from __future__ import annotations

import dataclasses
from typing import Any

from shapely.geometry import box, shape

from apps.jobs.params import Choice, Flag, Geometry, Id, IdList, JobParams, Name, Number, Whole
from backend.api.exceptions import InvalidInput
from backend.engine.chips.params import (
    CHIP_FORMATS, CROP_MODES, MAX_TILE_SIZE, METADATA_FORMATS, ClassDef, ExportParams, validate_classes,
)
from backend.engine.errors import EngineInputError

from ..models import Layer, Project, Raster

# Engine parameters a client may pass (defaults: ExportParams's).
ENGINE_FIELDS = (
    "metadata_format", "tile_size_x", "tile_size_y", "stride_x", "stride_y", "cell_size",
    "output_nofeature_tiles", "min_polygon_overlap_ratio", "rotation_angle", "image_chip_format",
    "start_index", "crop_mode", "blacken_around_feature", "buffer_radius",
)
MAX_RASTERS = 100
_ENGINE_DEFAULTS = {f.name: f.default for f in dataclasses.fields(ExportParams)}


def _bad(field: str, why: str) -> InvalidInput:
    return InvalidInput(f"params.{field}: {why}")


def _pixels(default: int | None, help_text: str) -> Whole:
    return Whole(min_value=1, max_value=MAX_TILE_SIZE, default=default, help_text=help_text)


class ExportTrainingDataParams(JobParams):
    """Export Training Data For Deep Learning: image chips and labels in ArcGIS's formats."""

    in_rasters = IdList(what="raster", max_length=MAX_RASTERS, required=False, allow_null=True, default=None,
                        help_text="The imagery to cut chips from (or give in_collection).")
    in_collection = Id(default=None, help_text="A raster collection of this project: cut chips from all of its "
                                               "rasters.")
    in_layer = Id(help_text="The layer whose features are the labels.")
    metadata_format = Choice(METADATA_FORMATS, error_messages={"required": "is required (" + ", ".join(
        METADATA_FORMATS) + ")."})
    tile_size_x = _pixels(_ENGINE_DEFAULTS["tile_size_x"], "Chip width in pixels.")
    tile_size_y = _pixels(None, "Chip height in pixels (default: tile_size_x).")
    stride_x = _pixels(None, "Step between chips in x (default: half of tile_size_x).")
    stride_y = _pixels(None, "Step between chips in y (default: half of tile_size_y).")
    cell_size = Number(min_value=0.0, above=True, default=None, help_text="Resample to this cell size (raster CRS "
                                                                          "units); default: the raster's.")
    output_nofeature_tiles = Flag(default=_ENGINE_DEFAULTS["output_nofeature_tiles"])
    min_polygon_overlap_ratio = Number(min_value=0.0, max_value=1.0,
                                       default=_ENGINE_DEFAULTS["min_polygon_overlap_ratio"])
    rotation_angle = Number(min_value=0.0, max_value=360.0, default=_ENGINE_DEFAULTS["rotation_angle"],
                            help_text="Adds copies rotated by each multiple of this angle (0: none; below 360).")
    image_chip_format = Choice(CHIP_FORMATS, default=_ENGINE_DEFAULTS["image_chip_format"])
    start_index = Whole(min_value=0, max_value=2**31 - 1, default=_ENGINE_DEFAULTS["start_index"])
    crop_mode = Choice(CROP_MODES, default=_ENGINE_DEFAULTS["crop_mode"], help_text="Labeled_Tiles only.")
    blacken_around_feature = Flag(default=_ENGINE_DEFAULTS["blacken_around_feature"], help_text="Labeled_Tiles only.")
    buffer_radius = Number(min_value=0.0, above=True, default=None,
                           help_text="Radius of points and lines (raster CRS units); default: 8 output cells.")
    processing_extent = Geometry(help_text="Export only inside this GeoJSON Polygon (EPSG:4326).")
    only_accepted = Flag(default=False, help_text="Only features a reviewer accepted.")
    out_name = Name(help_text="Name of the dataset (default: '<layer> - <metadata_format>').")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        project_id = self.job.project_id
        attrs = _collection_inputs(attrs, project_id)
        rasters = _rasters(attrs["in_rasters"], project_id)
        layer = Layer.objects.filter(pk=attrs["in_layer"], project_id=project_id).first()
        if layer is None:
            raise _bad("in_layer", "must be the id of a layer of this project.")
        cleaned = {**attrs, "in_layer": layer.pk}
        # ArcGIS's defaults: y sizes follow x, strides are half a tile.
        cleaned["tile_size_y"] = attrs["tile_size_y"] or attrs["tile_size_x"]
        for axis in ("x", "y"):
            cleaned[f"stride_{axis}"] = attrs[f"stride_{axis}"] or max(1, cleaned[f"tile_size_{axis}"] // 2)
        try:
            export = engine_params(cleaned)
            export.validate()
        except EngineInputError as exc:
            raise InvalidInput(f"params.{exc}") from None
        extent = export.processing_extent
        if extent is not None and not any(r.bounds and extent.intersects(box(*r.bounds)) for r in rasters):
            # Found now, not by the job after it ran (detection answers the same up front).
            raise _bad("processing_extent", "does not overlap any of the in_rasters; draw it over the imagery.")
        classes = layer_classes(layer, Project.objects.get(pk=project_id))
        if not classes:
            raise _bad("in_layer", "has no classes: add classes to the project's schema first.")
        try:
            validate_classes(class_defs(classes), cleaned["metadata_format"])
        except EngineInputError as exc:
            raise _bad("in_layer", f"class schema cannot be exported: {exc}") from None
        cleaned["out_name"] = attrs.get("out_name") or f"{layer.name} - {cleaned['metadata_format']}"[:200]
        return cleaned


def _collection_inputs(attrs: dict[str, Any], project_id: int) -> dict[str, Any]:
    """in_rasters, or the rasters of in_collection (one of the two; issue 17)."""
    from ..collections import collection_rasters
    from ..models import Collection

    pk = attrs.get("in_collection")
    if (pk is None) == (not attrs.get("in_rasters")):
        raise _bad("in_rasters", "give in_rasters (a list of raster ids) or in_collection (a collection id), "
                                 "one of the two.")
    if pk is None:
        return {k: v for k, v in attrs.items() if k != "in_collection"}
    collection = Collection.objects.filter(pk=pk, project_id=project_id).first()
    if collection is None:  # another project's is not named: ids of other projects stay unknown
        raise _bad("in_collection", f"no collection {pk} in this project.")
    ids = [r.pk for r in collection_rasters(collection)]
    if not ids:
        raise _bad("in_collection", f"collection {collection.name!r} has no rasters.")
    return {**attrs, "in_rasters": ids}


def _rasters(raster_ids: list[int], project_id: int) -> list[Raster]:
    rasters = {r.pk: r for r in Raster.objects.filter(pk__in=raster_ids, project_id=project_id)}
    for raster_id in raster_ids:
        raster = rasters.get(raster_id)
        if raster is None:
            raise _bad("in_rasters", f"{raster_id} is not a raster of this project.")
        if raster.status != Raster.Status.READY:
            raise _bad("in_rasters", f"raster {raster.name!r} is {raster.status}; wait until it is ready.")
    return [rasters[r] for r in raster_ids]


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
