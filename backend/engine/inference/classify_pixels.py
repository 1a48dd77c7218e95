"""Classify Pixels: one part into its own GeoTIFF, then all parts into one colour-mapped COG.

Each chip contributes only its centre region (the ArcGIS rule, esri-dlpk.md §5.3). We keep that
rule rather than blending overlaps: it makes every output pixel depend on exactly one chip, so the
result does not depend on how the scene was split into parts or batches (parts can run on
different workers and merge by simple placement), and it is what users comparing with ArcGIS see.
The padding still gives the model context around every kept pixel.

Pixel values are class ``Value``s: output index ``i`` maps to ``([0] + values)[i]``; index 0 is
background/NoData. With ``predict_background`` false, index 0 never wins. Pixels whose input is
NoData or outside the raster get the NoData value (0 unless a class uses 0).
"""
from __future__ import annotations

import json
import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.windows import Window

from backend.engine.errors import Cancelled, EngineError, EngineInputError
from backend.engine.inference.batching import (
    PartResult,
    gpu_memory_guard,
    iter_chip_batches,
    to_model_input,
)
from backend.engine.inference.classes import (
    class_colormap,
    classified_dtype,
    classified_nodata,
    default_predict_background,
    value_table,
)
from backend.engine.inference.planning import part_grid, pick_fields
from backend.engine.inference.protocols import PIXEL_CLASSIFICATION, ClassInfo, PredictorLike
from backend.engine.inference.reading import GridReader
from backend.engine.inference.tiling import ChipSpec, PartSpec, PixelWindow
from backend.engine.types import Progress, ShouldStop, never_stop, no_progress


@dataclass(frozen=True)
class ClassifyPixelsArgs:
    """Model arguments of Classify Pixels (§4.3); padding/tile_size are fixed in the plan."""

    padding: int | None = None
    batch_size: int = 4
    predict_background: bool | None = None  # None: the ArcGIS default for the class table
    tile_size: int | None = None

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> ClassifyPixelsArgs:
        """From coerced model arguments (``dlpk.arguments.coerce_arguments``); others ignored."""
        return cls(**pick_fields(cls, arguments))


def classify_pixels_part(
    raster_path: Path | str,
    part: PartSpec,
    predictor: PredictorLike,
    args: ClassifyPixelsArgs,
    out_path: Path | str,
    progress: Progress = no_progress,
    should_stop: ShouldStop = never_stop,
) -> PartResult:
    """Classify the part's output area into a GeoTIFF at ``out_path`` (absent unless complete)."""
    if predictor.family != PIXEL_CLASSIFICATION:
        raise EngineInputError(
            f"this model is a {predictor.family.replace('_', ' ')} model; "
            f"Classify Pixels needs a pixel classification model"
        )
    if args.batch_size < 1:
        raise EngineInputError(f"batch_size must be 1 or more (got {args.batch_size})")
    want = args.tile_size or predictor.chip_size
    if part.tiles.chip_size != want:
        raise EngineError(f"part planned with chip size {part.tiles.chip_size}, model runs {want}")
    grid = part_grid(raster_path, part)
    classes = tuple(predictor.classes)
    dtype = classified_dtype(classes)
    nodata = classified_nodata(classes, dtype)
    lut = value_table(classes).astype(dtype)
    background = (
        default_predict_background(classes) if args.predict_background is None else args.predict_background
    )
    inner = part.inner_window
    out = Path(out_path)
    tmp = out.with_name(out.name + ".partial")
    profile = {
        "driver": "GTiff",
        "width": inner.width,
        "height": inner.height,
        "count": 1,
        "dtype": dtype.name,
        "crs": grid.crs,
        "transform": grid.transform @ Affine.translation(inner.col_off, inner.row_off),
        "nodata": nodata,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "BIGTIFF": "IF_SAFER",
    }  # uncompressed on purpose: chip centres are written out of block order
    total = part.chip_count
    pixels = chips_run = skipped = 0
    progress(0, total, f"part {part.index}: classifying pixels")
    try:
        with rasterio.open(tmp, "w", **profile) as dst, GridReader(
            raster_path, grid, tuple(predictor.extract_bands)
        ) as reader:
            for batch in iter_chip_batches(reader, part, args.batch_size):
                if should_stop():
                    raise Cancelled(f"classify pixels cancelled in part {part.index}")
                for chip in batch.skipped:
                    _write_centre(dst, inner, chip, np.full((chip.centre.height, chip.centre.width), nodata, dtype))
                skipped += len(batch.skipped)
                if batch.chips:
                    with gpu_memory_guard(args.batch_size):
                        probs = predictor.segment(to_model_input(predictor, batch.data))
                    index = _argmax(np.asarray(probs), len(classes), part.tiles.chip_size, background)
                    for k, chip in enumerate(batch.chips):
                        values = lut[index[k]]
                        values[~batch.valid[k]] = nodata
                        pixels += _write_centre(dst, inner, chip, _centre(chip, values))
                    chips_run += len(batch.chips)
                progress(batch.done, total, f"part {part.index}: {chips_run} chips classified")
        if should_stop():
            raise Cancelled(f"classify pixels cancelled in part {part.index}")
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    progress(total, total, f"part {part.index}: done")
    return PartResult(count=pixels, chips=chips_run, skipped=skipped)


def _argmax(probs: np.ndarray, n_classes: int, chip: int, background: bool) -> np.ndarray:
    if probs.ndim != 4 or probs.shape[1] != n_classes + 1 or probs.shape[2:] != (chip, chip):
        raise EngineError(
            f"the model returned scores of shape {probs.shape}; expected [batch, {n_classes + 1}, {chip}, {chip}]"
        )
    if background or n_classes == 0:
        return np.asarray(probs.argmax(axis=1), dtype=np.intp)
    return np.asarray(probs[:, 1:].argmax(axis=1) + 1, dtype=np.intp)


def _centre(chip: ChipSpec, values: np.ndarray) -> np.ndarray:
    r = chip.centre.row_off - chip.window.row_off
    c = chip.centre.col_off - chip.window.col_off
    return values[r : r + chip.centre.height, c : c + chip.centre.width]


def _write_centre(dst: rasterio.io.DatasetWriter, inner: PixelWindow, chip: ChipSpec, block: np.ndarray) -> int:
    window = Window(chip.centre.col_off - inner.col_off, chip.centre.row_off - inner.row_off,
                    chip.centre.width, chip.centre.height)
    dst.write(block, 1, window=window)
    return int(block.size)


def merge_classified_parts(
    part_paths: Sequence[Path | str],
    out_cog_path: Path | str,
    classes: Sequence[ClassInfo],
    progress: Progress = no_progress,
) -> Path:
    """Mosaic part GeoTIFFs (one grid) into a COG with the class colour table, block by block.

    The parts are referenced by a VRT and copied by GDAL's COG driver (deflate, 512 px blocks,
    nearest-neighbour overviews), so memory does not grow with the raster. The class table is kept
    as JSON in the ``CLASSES`` metadata item.
    """
    paths = [Path(p) for p in part_paths]
    if not paths:
        raise EngineInputError("no classified parts to merge")
    for p in paths:
        if not p.exists():
            raise EngineInputError(f"part file {p.name} is missing: a part of the job did not finish")
    infos = []
    for p in paths:
        with rasterio.open(p) as src:
            infos.append((p, src.transform, src.width, src.height, src.crs, src.dtypes[0], src.nodata))
    ref_t, crs, dtype, nodata = infos[0][1], infos[0][4], infos[0][5], infos[0][6]
    offsets = []
    for p, t, w, h, c, d, nd in infos:
        if c != crs or d != dtype or nd != nodata or not (
            np.isclose(t.a, ref_t.a) and np.isclose(t.e, ref_t.e) and t.b == ref_t.b == 0 and t.d == ref_t.d == 0
        ):
            raise EngineInputError(f"part {p.name} is not on the same grid as {infos[0][0].name}")
        col = round((t.c - ref_t.c) / ref_t.a)
        row = round((t.f - ref_t.f) / ref_t.e)
        offsets.append((p, col, row, w, h))
    c0 = min(o[1] for o in offsets)
    r0 = min(o[2] for o in offsets)
    width = max(o[1] + o[3] for o in offsets) - c0
    height = max(o[2] + o[4] for o in offsets) - r0
    transform = ref_t @ Affine.translation(c0, r0)
    cmap = class_colormap(classes, int(nodata if nodata is not None else 0))
    out = Path(out_cog_path)
    progress(0, 1, "writing classified raster")
    with tempfile.TemporaryDirectory(dir=out.parent) as tmpdir:
        vrt = Path(tmpdir) / "mosaic.vrt"
        vrt.write_text(_vrt_xml(offsets, c0, r0, width, height, transform, crs.to_wkt(), dtype, nodata, cmap, classes))
        tmp = out.with_name(out.name + ".partial")
        try:
            rasterio.shutil.copy(
                vrt, tmp, driver="COG", COMPRESS="DEFLATE", BLOCKSIZE=512,
                OVERVIEW_RESAMPLING="NEAREST", BIGTIFF="IF_SAFER",
            )
            os.replace(tmp, out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    progress(1, 1, "classified raster written")
    return out


_VRT_TYPES = {"uint8": "Byte", "uint16": "UInt16"}


def _vrt_xml(
    offsets: list[tuple[Path, int, int, int, int]], c0: int, r0: int, width: int, height: int,
    transform: Affine, crs_wkt: str, dtype: str, nodata: float | None,
    cmap: dict[int, tuple[int, int, int, int]], classes: Sequence[ClassInfo],
) -> str:
    root = ET.Element("VRTDataset", rasterXSize=str(width), rasterYSize=str(height))
    ET.SubElement(root, "SRS").text = crs_wkt
    ET.SubElement(root, "GeoTransform").text = ", ".join(repr(v) for v in transform.to_gdal())
    meta = ET.SubElement(root, "Metadata")
    table = [{"value": int(c.value), "name": str(c.name), "color": list(cmap.get(int(c.value), (0, 0, 0, 0))[:3])} for c in classes]
    ET.SubElement(meta, "MDI", key="CLASSES").text = json.dumps(table)
    band = ET.SubElement(root, "VRTRasterBand", dataType=_VRT_TYPES[dtype], band="1")
    if nodata is not None:
        ET.SubElement(band, "NoDataValue").text = str(int(nodata))
    ET.SubElement(band, "ColorInterp").text = "Palette"
    ct = ET.SubElement(band, "ColorTable")
    for v in range(max(cmap) + 1):
        r, g, b, a = cmap.get(v, (0, 0, 0, 0))
        ET.SubElement(ct, "Entry", c1=str(r), c2=str(g), c3=str(b), c4=str(a))
    for path, col, row, w, h in offsets:
        src = ET.SubElement(band, "SimpleSource")
        ET.SubElement(src, "SourceFilename", relativeToVRT="0").text = str(path.resolve())
        ET.SubElement(src, "SourceBand").text = "1"
        ET.SubElement(src, "SrcRect", xOff="0", yOff="0", xSize=str(w), ySize=str(h))
        ET.SubElement(src, "DstRect", xOff=str(col - c0), yOff=str(row - r0), xSize=str(w), ySize=str(h))
    return ET.tostring(root, encoding="unicode")
