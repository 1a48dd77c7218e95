"""The root files of an export folder: map.txt, stats.txt, esri_accumulated_stats.json and
esri_model_definition.emd, shaped like ArcGIS Pro's so arcgis.learn and Pro can read them."""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from backend.engine.chips.params import ClassDef, ExportParams
from backend.engine.chips.stats import BandStats, LabelStats

MAP_FILE = "map.txt"
STATS_FILE = "stats.txt"
ACCUMULATED_FILE = "esri_accumulated_stats.json"
EMD_FILE = "esri_model_definition.emd"
PIXEL_STATS_FORMATS = ("Classified_Tiles",)


@dataclass(frozen=True)
class CellSize:
    x: float
    y: float
    epsg: int | None
    wkt: str

    def to_json(self) -> dict[str, Any]:
        reference: dict[str, Any] = (
            {"wkid": self.epsg, "latestWkid": self.epsg} if self.epsg else {"wkt": self.wkt}
        )
        return {"x": self.x, "y": self.y, "spatialReference": reference}


@dataclass(frozen=True)
class ExportFacts:
    """What the metadata files say about the export besides the running statistics."""

    params: ExportParams
    classes: Sequence[ClassDef]
    band_names: Sequence[str]
    raster_count: int
    chip_count: int
    next_index: int
    min_cell: CellSize | None
    max_cell: CellSize | None


class MapWriter:
    """map.txt, written line by line as chips are exported (Pro 2.x spacing).

    With `enabled` False nothing is written: a COCO folder has no map.txt because arcgis.learn
    takes any folder holding esri_model_definition.emd, esri_accumulated_stats.json and map.txt
    for an ArcGIS export and then never reads its labels.json.
    """

    def __init__(self, out_dir: Path, enabled: bool = True) -> None:
        self._file: TextIO | None = (
            (out_dir / MAP_FILE).open("w", newline="\n") if enabled else None
        )

    def add(self, image: str, label: str | None) -> None:
        if self._file is not None:
            self._file.write(f"images\\{image}  {label} \n" if label else f"images\\{image} \n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> MapWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def write_metadata(out_dir: Path, facts: ExportFacts, bands: BandStats, labels: LabelStats
                   ) -> None:
    (out_dir / ACCUMULATED_FILE).write_text(
        json.dumps(accumulated_stats(facts, bands, labels), indent=2) + "\n"
    )
    (out_dir / EMD_FILE).write_text(json.dumps(model_definition(facts, bands), indent=4) + "\n")
    (out_dir / STATS_FILE).write_text(stats_text(facts, labels))


def _rasters_props(facts: ExportFacts) -> dict[str, Any]:
    return {"RasterCount": facts.raster_count, "SensorName": "",
            "BandNames": list(facts.band_names)}


def _cell(cell: CellSize | None) -> dict[str, Any] | None:
    return cell.to_json() if cell else None


def accumulated_stats(facts: ExportFacts, bands: BandStats, labels: LabelStats
                      ) -> dict[str, Any]:
    params = facts.params
    fmt = params.metadata_format
    stats: dict[str, Any] = {
        "Version": 1,
        "NumBands": len(facts.band_names),
        "TileSizeX": params.tile_size_x,
        "TileSizeY": params.tile_size_y,
        "NumClasses": len(facts.classes),
        "NumTiles": facts.chip_count,
        "NumTilesAsDouble": float(facts.chip_count),
        "NextTileIndex": facts.next_index,
        "MinCellSize": _cell(facts.min_cell),
        "MaxCellSize": _cell(facts.max_cell),
        "OutputFeatures": fmt not in PIXEL_STATS_FORMATS,
        "MetaDataMode": fmt,
        "Classes": [{"ClassValue": c.value, "ClassName": c.name} for c in facts.classes],
    }
    if fmt in PIXEL_STATS_FORMATS:
        stats["ClassPixelStats"] = labels.pixel_json()
    else:
        stats["FeatureStats"] = labels.feature_json()
    stats["InputRastersProps"] = _rasters_props(facts)
    stats["BandStatsState"] = bands.state_json(facts.band_names)
    return stats


def model_definition(facts: ExportFacts, bands: BandStats) -> dict[str, Any]:
    params = facts.params
    return {
        "ImageHeight": params.tile_size_y,
        "ImageWidth": params.tile_size_x,
        "ExtractBands": list(range(len(facts.band_names))),
        "Classes": [{"Value": c.value, "Name": c.name, "Color": list(c.color)}
                    for c in facts.classes],
        "MetaDataMode": params.metadata_format,
        "IsMultidimensional": False,
        "ImageSpaceUsed": "MAP_SPACE",
        "MinCellSize": _cell(facts.min_cell),
        "MaxCellSize": _cell(facts.max_cell),
        "InputRastersProps": _rasters_props(facts),
        "AllTilesStats": bands.all_tiles_json(facts.band_names),
        "CropTileMode": "Fixed_Size" if params.crop_mode == "FIXED_SIZE" else "Bounding_Box",
        "BlackenAroundFeature": params.blacken_around_feature,
    }


def stats_text(facts: ExportFacts, labels: LabelStats) -> str:
    """Human-readable summary in the layout of ArcGIS's stats.txt."""
    params = facts.params
    pixels = params.metadata_format in PIXEL_STATS_FORMATS
    lines = [
        f"images = {facts.chip_count} *{len(facts.band_names)}*{params.tile_size_y}"
        f"*{params.tile_size_x}"
    ]
    if pixels:
        per = labels.classes_per_image
        lines += [f"classes = {len(facts.classes)}",
                  f"classes per image = [min = {_int(per.minimum)}, mean = {per.mean:.2f}, "
                  f"max = {_int(per.maximum)}]",
                  "cls name              cls value     images   pixels      min size   "
                  "mean size    max size"]
    else:
        per = labels.features_per_image
        lines += [f"features = {labels.features}",
                  f"features per image = [min = {_int(per.minimum)}, mean = {per.mean:.2f}, "
                  f"max = {_int(per.maximum)}]",
                  f"classes = {len(facts.classes)}",
                  "cls name              cls value     images   features    min size   "
                  "mean size    max size"]
    for name, value, images, amount, low, mean, high in labels.text_rows(pixels):
        lines.append(f"{name:<20}{value:>11}{images:>11}{amount:>11}{low:>12.2f}{mean:>12.2f}"
                     f"{high:>12.2f}")
    return "\n".join(lines) + "\n"


def _int(value: float) -> int:
    return int(value) if value not in (float("inf"), float("-inf")) else 0
