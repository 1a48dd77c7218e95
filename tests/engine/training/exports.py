"""Tiny export folders shaped like ArcGIS Pro's, cut from the real samples in tests/data.

Chips come from OSBS_029.tif (61 "Tree" boxes) or SOAP_061.tif ("Dead"/"Alive" boxes); the
boxes are the pixel boxes stored in the GeoJSON properties (xmin..ymax, raster pixels).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

DATA = Path(__file__).resolve().parents[2] / "data"
CLASSES = {
    "OSBS_029": [(1, "Tree", [0, 160, 0])],
    "SOAP_061": [(1, "Dead", [200, 120, 0]), (2, "Alive", [0, 200, 0])],
}


def _boxes(name: str) -> list[tuple[int, float, float, float, float]]:
    """(class value, xmin, ymin, xmax, ymax) in raster pixels."""
    values = {label: value for value, label, _ in CLASSES[name]}
    data = json.loads((DATA / f"{name}.geojson").read_text())
    out = []
    for f in data["features"]:
        p = f["properties"]
        out.append((values[p["label"]], p["xmin"], p["ymin"], p["xmax"], p["ymax"]))
    return out


def _origins(size: int, chip: int, stride: int) -> list[int]:
    return list(range(0, size - chip + 1, stride))


def _voc(name: str, chip: int, bands: int, objects: list[tuple[int, float, float, float, float]]) -> str:
    parts = [
        '<?xml version="1.0"?>', "<annotation>", f"    <filename>{name}</filename>",
        "    <source>", "        <annotation>ArcGIS Pro 2.1</annotation>", "    </source>",
        "    <size>", f"        <width>{chip}</width>", f"        <height>{chip}</height>",
        f"        <depth>{bands}</depth>", "    </size>",
    ]
    for value, x0, y0, x1, y1 in objects:
        parts += [
            "    <object>", f"        <name>{value}</name>", "        <bndbox>",
            f"            <xmin>{x0:.2f}</xmin>", f"            <ymin>{y0:.2f}</ymin>",
            f"            <xmax>{x1:.2f}</xmax>", f"            <ymax>{y1:.2f}</ymax>",
            "        </bndbox>", "    </object>",
        ]
    parts.append("</annotation>")
    return "\n".join(parts) + "\n"


def _write_tif(path: Path, data: np.ndarray, transform: Any, crs: Any) -> None:
    with rasterio.open(
        path, "w", driver="GTiff", width=data.shape[-1], height=data.shape[-2], count=data.shape[0],
        dtype=data.dtype, transform=transform, crs=crs,
    ) as dst:
        dst.write(data)


def write_export(
    root: Path,
    fmt: str = "PASCAL_VOC_rectangles",
    raster: str = "OSBS_029",
    chip: int = 128,
    stride: int | None = None,
    max_chips: int | None = None,
    extra_band: bool = False,
    classes: list[tuple[int, str, list[int]]] | None = None,
    image_space: str = "MAP_SPACE",
) -> Path:
    """Write an export folder; returns `root`.

    fmt: PASCAL_VOC_rectangles (boxes), Classified_Tiles (boxes burnt as class rectangles),
    RCNN_Masks (one instance per box, an ellipse inside it) or Labeled_Tiles (one chip centred
    on each box). `extra_band` appends a 4th band (mean of RGB) to make multispectral chips.
    `classes` overrides the class list written to the metadata (boxes keep their values).
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    (root / "labels").mkdir(exist_ok=True)
    class_list = classes if classes is not None else CLASSES[raster]
    boxes = _boxes(raster)
    stride = stride or chip
    lines: list[str] = []
    with rasterio.open(DATA / f"{raster}.tif") as src:
        if fmt == "Labeled_Tiles":
            origins = [
                (int(np.clip((x0 + x1) / 2 - chip / 2, 0, src.width - chip)),
                 int(np.clip((y0 + y1) / 2 - chip / 2, 0, src.height - chip)), value)
                for value, x0, y0, x1, y1 in boxes
            ]
        else:
            origins = [(c, r, 0) for r in _origins(src.height, chip, stride) for c in _origins(src.width, chip, stride)]
        if max_chips is not None:
            origins = origins[:max_chips]
        for index, (col, row, tile_value) in enumerate(origins):
            stem = f"{index:09d}"
            window = Window(col, row, chip, chip)
            data = src.read(window=window)
            if extra_band:
                data = np.concatenate([data, data.mean(0, keepdims=True).astype(data.dtype)], 0)
            transform = src.transform @ Affine.translation(col, row)
            _write_tif(root / "images" / f"{stem}.tif", data, transform, src.crs)
            inside = []
            for value, x0, y0, x1, y1 in boxes:
                cx0, cy0 = max(x0 - col, 0), max(y0 - row, 0)
                cx1, cy1 = min(x1 - col, chip), min(y1 - row, chip)
                if cx1 - cx0 >= 2 and cy1 - cy0 >= 2:
                    inside.append((value, cx0, cy0, cx1, cy1))
            label = _write_label(root, fmt, stem, chip, data.shape[0], inside, tile_value, transform, src.crs)
            lines.append(f"images\\{stem}.tif  {label} \n")
        band_count = src.count + (1 if extra_band else 0)
        res = src.res[0]
        epsg = src.crs.to_epsg()
    (root / "map.txt").write_text("".join(lines))
    _write_metadata(root, fmt, chip, band_count, len(lines), class_list, image_space, res, epsg)
    return root


def _write_label(
    root: Path, fmt: str, stem: str, chip: int, bands: int,
    inside: list[tuple[int, float, float, float, float]], tile_value: int, transform: Any, crs: Any,
) -> str:
    if fmt == "PASCAL_VOC_rectangles":
        (root / "labels" / f"{stem}.xml").write_text(_voc(f"{stem}.tif", chip, bands, inside))
        return f"labels\\{stem}.xml"
    if fmt == "Labeled_Tiles":
        half = chip / 2
        obj = [(tile_value, half - 1, half - 1, half + 1, half + 1)]
        (root / "labels" / f"{stem}.xml").write_text(_voc(f"{stem}.tif", chip, bands, obj))
        return f"labels\\{stem}.xml"
    if fmt == "Classified_Tiles":
        mask = np.zeros((1, chip, chip), dtype=np.uint8)
        for value, x0, y0, x1, y1 in inside:
            mask[0, int(y0):int(np.ceil(y1)), int(x0):int(np.ceil(x1))] = value
        _write_tif(root / "labels" / f"{stem}.tif", mask, transform, crs)
        return f"labels\\{stem}.tif"
    if fmt == "RCNN_Masks":
        yy, xx = np.mgrid[0:chip, 0:chip] + 0.5
        per_class: dict[int, np.ndarray] = {}
        for i, (value, x0, y0, x1, y1) in enumerate(inside, 1):
            cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
            ellipse = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
            m = per_class.setdefault(value, np.zeros((1, chip, chip), dtype=np.uint8))
            m[0][ellipse] = i
        for value, m in per_class.items():
            folder = root / "labels" / str(value)
            folder.mkdir(exist_ok=True)
            _write_tif(folder / f"{stem}.tif", m, transform, crs)
        return f"labels\\{stem}.tif"
    raise ValueError(fmt)


def _write_metadata(
    root: Path, fmt: str, chip: int, bands: int, count: int,
    classes: list[tuple[int, str, list[int]]], image_space: str, res: float, epsg: int | None,
) -> None:
    cell = {"x": res, "y": res, "spatialReference": {"wkid": epsg, "latestWkid": epsg}}
    stats = {
        "Version": 1, "NumBands": bands, "TileSizeX": chip, "TileSizeY": chip,
        "NumClasses": len(classes), "NumTiles": count, "OutputFeatures": fmt != "Classified_Tiles",
        "MetaDataMode": fmt, "Classes": [{"ClassValue": v, "ClassName": n} for v, n, _ in classes],
    }
    emd: dict[str, Any] = {
        "Framework": "e.g. CNTK", "ModelConfiguration": "some description",
        "ImageHeight": chip, "ImageWidth": chip, "MetaDataMode": fmt,
        "Classes": [{"Value": v, "Name": n, "Color": c} for v, n, c in classes],
        "ImageSpaceUsed": image_space, "MinCellSize": cell, "MaxCellSize": cell,
        "CropTileMode": "Fixed_Size", "BlackenAroundFeature": False,
    }
    if bands != 3:
        emd["InputRastersProps"] = {"RasterCount": 1, "SensorName": "", "BandNames": ["Red", "Green", "Blue", "NearInfrared"][:bands]}
        emd["AllTilesStats"] = [
            {"BandName": f"Band_{i + 1}", "Min": 0.0, "Max": 255.0, "Mean": 100.0 + i, "StdDev": 40.0}
            for i in range(bands)
        ]
    (root / "esri_accumulated_stats.json").write_text(json.dumps(stats, indent=2))
    (root / "esri_model_definition.emd").write_text(json.dumps(emd, indent=2))
    (root / "stats.txt").write_text(f"{count} images x {bands} bands x {chip} x {chip}\n")
