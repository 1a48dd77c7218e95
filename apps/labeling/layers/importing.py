"""Import GeoJSON, GeoPackage or a zipped Shapefile into a layer (read with pyogrio, any CRS
reprojected to EPSG:4326), mapping one attribute to class values.

All or nothing: every feature is read and checked first; one bad feature fails the import with a
400 listing the first problems, and nothing is written. Small files are imported in the request;
files with more than INLINE_MAX_FEATURES features run as an ``import_features`` job.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import shutil
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyogrio
import pyogrio.raw
import shapely
from django.conf import settings
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from backend.api.exceptions import InvalidInput
from backend.engine.errors import Cancelled

from ..models import Layer
from ..permissions import require_role
from .geometry import check_shape
from .schema import governed
from .services import NewFeature, features_bulk_create

INLINE_MAX_FEATURES = 5000
BATCH = 5000
MAX_ERRORS_SHOWN = 8
# Tried in this order when no class_field is given.
CLASS_FIELD_GUESSES = ("class_value", "classvalue", "class", "classname", "class_name", "label")
UPLOAD_NAME = re.compile(r"^[0-9a-f]{32}\.(geojson|json|gpkg|zip)$")
FORMATS = "GeoJSON (.geojson/.json), GeoPackage (.gpkg) or a zipped Shapefile (.zip)"


@dataclass(frozen=True)
class ImportOptions:
    class_field: str | None = None
    repair: bool = False


@dataclass(frozen=True)
class ImportOutcome:
    count: int | None = None  # imported now
    job_id: int | None = None  # or queued as a job


def imports_dir() -> Path:
    path = Path(settings.DATA_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


# sources ---------------------------------------------------------------------------------------
def _kind_of(path: Path, filename: str) -> str:
    with path.open("rb") as f:
        head = f.read(64).removeprefix(b"\xef\xbb\xbf")
    if head.startswith(b"SQLite format 3"):
        return "gpkg"
    if head.startswith(b"PK"):
        return "zip"
    if head.lstrip()[:1] in (b"{", b"["):
        return "geojson"
    raise InvalidInput(f"file: {filename!r} is not a {FORMATS}.")


def _dataset(path: Path, filename: str) -> tuple[str, str]:
    """(path for GDAL, kind)."""
    kind = _kind_of(path, filename)
    if kind != "zip":
        return str(path), kind
    try:
        with zipfile.ZipFile(path) as archive:
            shps = [n for n in archive.namelist() if n.lower().endswith(".shp") and not n.startswith("__MACOSX")]
    except zipfile.BadZipFile:
        raise InvalidInput(f"file: {filename!r} is not a readable zip archive.") from None
    if len(shps) != 1:
        found = ", ".join(shps) if shps else "none"
        raise InvalidInput(f"file: a zipped Shapefile must hold exactly one .shp (found: {found}).")
    return f"/vsizip/{path}/{shps[0]}", "shp"


def _info(source: str, filename: str) -> dict[str, Any]:
    try:
        layers = pyogrio.list_layers(source)
        spatial = [name for name, gtype in layers if gtype]
        if len(spatial) > 1:
            raise InvalidInput(f"file: {filename!r} has several layers ({', '.join(spatial)}); "
                               "export the one to import on its own.")
        info = pyogrio.read_info(source, layer=spatial[0] if spatial else None, force_feature_count=True)
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001 - GDAL reports unreadable files in many ways
        raise InvalidInput(f"file: {filename!r} could not be read as a {FORMATS}: {exc}") from None
    if info.get("geometry_type") in (None, "None"):
        raise InvalidInput(f"file: {filename!r} has no geometry column.")
    info["layer"] = spatial[0] if spatial else None
    return info


def _to_4326(crs_text: str | None, total_bounds: Any, filename: str) -> Callable[[np.ndarray], np.ndarray] | None:
    if not crs_text:
        bounds = [float(v) for v in (total_bounds or ())]
        if len(bounds) == 4 and all(math.isfinite(v) for v in bounds) \
                and -180 <= bounds[0] <= bounds[2] <= 180 and -90 <= bounds[1] <= bounds[3] <= 90:
            return None  # no CRS but degrees: take it as EPSG:4326
        raise InvalidInput(f"file: {filename!r} has no coordinate reference system (e.g. a Shapefile without "
                           ".prj) and its coordinates are not longitude/latitude; add the CRS and try again.")
    crs = CRS.from_user_input(crs_text)
    if crs.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return None
    transformer = Transformer.from_crs(crs, 4326, always_xy=True)

    def transform(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return transform


# class mapping ---------------------------------------------------------------------------------
class _ClassMapper:
    def __init__(self, table: list[dict[str, Any]], fields: list[str], class_field: str | None, filename: str):
        self.values = {int(c["value"]) for c in table}
        self.by_name = {str(c["name"]).strip().lower(): int(c["value"]) for c in table}
        self.table = table
        if class_field:
            if class_field not in fields:
                raise InvalidInput(f"class_field: {filename!r} has no attribute {class_field!r}; "
                                   f"its attributes are {', '.join(fields) or '(none)'}.")
            self.field: str | None = class_field
        else:
            lower = {f.lower(): f for f in fields}
            self.field = next((lower[g] for g in CLASS_FIELD_GUESSES if g in lower), None)
            if self.field is None and len(table) != 1:
                raise InvalidInput(
                    "class_field: name the attribute holding class values or class names (attributes: "
                    f"{', '.join(fields) or 'none'}); only a project with a single class can do without."
                )
        self.unknown: dict[str, int] = {}

    def __call__(self, raw: Any) -> int | None:
        if self.field is None:
            return int(self.table[0]["value"])
        if raw is None or (isinstance(raw, float) and math.isnan(raw)):
            self.unknown["(empty)"] = self.unknown.get("(empty)", 0) + 1
            return None
        text = str(raw.item() if isinstance(raw, np.generic) else raw).strip()
        number = text[:-2] if text.endswith(".0") else text
        if number.lstrip("-").isdigit() and int(number) in self.values:
            return int(number)
        if text.lower() in self.by_name:
            return self.by_name[text.lower()]
        self.unknown[text] = self.unknown.get(text, 0) + 1
        return None

    def error(self) -> str | None:
        if not self.unknown:
            return None
        shown = ", ".join(f"{v!r} ({n})" for v, n in list(self.unknown.items())[:10])
        schema = ", ".join(f"{c['value']} ({c['name']})" for c in self.table) or "(none)"
        return (f"class_field {self.field!r}: values that are neither a class value nor a class name of the "
                f"schema: {shown}; the schema has {schema}. Add those classes first or fix the file.")


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def _repair(geom: BaseGeometry) -> BaseGeometry:
    fixed = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        parts = [g for g in getattr(fixed, "geoms", [fixed]) if g.geom_type in ("Polygon", "MultiPolygon")]
        fixed = shapely.union_all(parts) if parts else shapely.Polygon()
    return fixed


# reading ---------------------------------------------------------------------------------------
def _decode(wkb: np.ndarray) -> tuple[np.ndarray, dict[int, str]]:
    """Geometries from WKB, and for those GEOS cannot build (e.g. an unclosed ring) the reason by
    index: one bad feature is reported by number instead of failing the whole batch with a 500."""
    try:
        return shapely.from_wkb(wkb), {}
    except shapely.errors.GEOSException:
        pass
    geoms = np.empty(len(wkb), dtype=object)
    malformed: dict[int, str] = {}
    for i, item in enumerate(wkb):
        try:
            geoms[i] = shapely.from_wkb(item) if item is not None else None
        except shapely.errors.GEOSException as exc:
            malformed[i] = str(exc).split(": ", 1)[-1]
    return geoms, malformed


def read_features(path: Path, filename: str, *, table: list[dict[str, Any]], options: ImportOptions,
                  progress: Callable[[int, int, str], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> list[NewFeature]:
    """Every feature of the file, checked and mapped, or InvalidInput saying what is wrong."""
    source, _ = _dataset(path, filename)
    info = _info(source, filename)
    total = int(info["features"])
    if total <= 0:
        raise InvalidInput(f"file: {filename!r} holds no features.")
    fields = [str(f) for f in info["fields"]]
    mapper = _ClassMapper(table, fields, options.class_field, filename)
    transform = _to_4326(info.get("crs"), info.get("total_bounds"), filename)
    errors: list[str] = []
    n_errors = 0
    out: list[NewFeature] = []
    for start in range(0, total, BATCH):
        if should_stop and should_stop():
            raise Cancelled()
        _, _, wkb, field_data = pyogrio.raw.read(source, layer=info["layer"], skip_features=start,
                                                 max_features=BATCH, force_2d=True)
        geoms, malformed = _decode(wkb)
        if transform is not None:
            geoms = shapely.transform(geoms, transform)
        columns = dict(zip(fields, field_data))
        for i, geom in enumerate(geoms):
            number = start + i + 1
            attrs = {name: _jsonable(col[i]) for name, col in columns.items()}
            class_value = mapper(columns[mapper.field][i]) if mapper.field else mapper(None)
            try:
                if i in malformed:
                    raise InvalidInput(f"malformed geometry ({malformed[i]}); close every ring (its last point "
                                       "repeats the first) and give each ring at least 4 points")
                if geom is None:
                    raise InvalidInput("has no geometry")
                if options.repair and not geom.is_valid:
                    geom = _repair(geom)
                clean = check_shape(geom, where="geometry")
            except InvalidInput as exc:
                n_errors += 1
                if len(errors) < MAX_ERRORS_SHOWN:
                    errors.append(f"feature {number}: {exc.detail}")
                continue
            if class_value is not None:
                out.append(NewFeature(geometry=clean, class_value=class_value,
                                      attributes={k: v for k, v in attrs.items() if v is not None}))
        if progress:
            progress(min(start + BATCH, total), total, f"Read {min(start + BATCH, total)} of {total} features")
    problems = [m for m in [mapper.error()] if m] + errors
    if problems:
        more = f" (and {n_errors - len(errors)} more geometry problems)" if n_errors > len(errors) else ""
        hint = " Send repair=true to repair invalid geometries." if n_errors and not options.repair else ""
        raise InvalidInput(f"Nothing was imported from {filename!r}: " + "; ".join(problems) + more + "." + hint)
    return out


def _class_table(layer: Layer) -> list[dict[str, Any]]:
    return layer.project.classes if governed(layer.kind, layer.classes) else layer.classes


def count_features(path: Path, filename: str) -> int:
    source, _ = _dataset(path, filename)
    return int(_info(source, filename)["features"])


def import_now(*, user: Any, layer: Layer, path: Path, filename: str, options: ImportOptions,
               progress: Callable[[int, int, str], None] | None = None,
               should_stop: Callable[[], bool] | None = None) -> int:
    features = read_features(path, filename, table=_class_table(layer), options=options, progress=progress,
                             should_stop=should_stop)
    if should_stop and should_stop():
        raise Cancelled()
    return features_bulk_create(layer=layer, features=features, user=user, reason="import")


def layer_import(*, user: Any, layer: Layer, upload_path: Path, filename: str, options: ImportOptions) -> ImportOutcome:
    """Import an uploaded file (the caller removes ``upload_path`` afterwards): at once when small,
    else as an ``import_features`` job working on a copy kept under DATA_DIR/imports."""
    require_role(user, layer.project_id, write=True)
    total = count_features(upload_path, filename)
    if total <= INLINE_MAX_FEATURES:
        return ImportOutcome(count=import_now(user=user, layer=layer, path=upload_path, filename=filename,
                                              options=options))
    from apps.jobs.services import job_start

    suffix = {"gpkg": "gpkg", "zip": "zip"}.get(_kind_of(upload_path, filename), "geojson")
    name = f"{uuid.uuid4().hex}.{suffix}"
    shutil.copyfile(upload_path, imports_dir() / name)
    try:
        job = job_start(user=user, kind="import_features", project_id=layer.project_id, params={
            "layer": layer.pk, "upload": name, "filename": filename, "class_field": options.class_field,
            "repair": options.repair,
        })
    except Exception:
        (imports_dir() / name).unlink(missing_ok=True)
        raise
    return ImportOutcome(job_id=job.pk)
