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
from backend.engine.inference.tta import segment_with_tta
from backend.engine.types import Progress, ShouldStop, never_stop, no_progress


@dataclass(frozen=True)
class ClassifyPixelsArgs:
    """Model arguments of Classify Pixels (§4.3); padding/tile_size are fixed in the plan."""

    padding: int | None = None
    batch_size: int = 4
    predict_background: bool | None = None  # None: the ArcGIS default for the class table
    tile_size: int | None = None
    test_time_augmentation: bool = False  # probabilities averaged over the chip's flips (inference.tta)

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
                    empty = np.full((chip.centre.height, chip.centre.width), nodata, dtype)
                    _write_centre(dst, inner, chip, empty)
                skipped += len(batch.skipped)
                if batch.chips:
                    with gpu_memory_guard(args.batch_size):
                        model_input = to_model_input(predictor, batch.data)
                        probs = (segment_with_tta(predictor, model_input) if args.test_time_augmentation
                                 else predictor.segment(model_input))
                    index = _centre_argmax(np.asarray(probs), len(classes), part, background)
                    p, s = part.tiles.padding, part.tiles.inner
                    valid = batch.valid[:, p : p + s, p : p + s]
                    for k, chip in enumerate(batch.chips):
                        h, w = chip.centre.height, chip.centre.width  # centres only shrink at the end
                        values = lut[index[k, :h, :w]]
                        values[~valid[k, :h, :w]] = nodata
                        pixels += _write_centre(dst, inner, chip, values)
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


def _centre_argmax(probs: np.ndarray, n_classes: int, part: PartSpec, background: bool) -> np.ndarray:
    """Winning output index of the centre ``s x s`` of every chip ([B, s, s]).

    Only the centres are kept, so only they are compared (a quarter of the chip at the usual
    padding of chip // 4).
    """
    chip, p, s = part.tiles.chip_size, part.tiles.padding, part.tiles.inner
    if probs.ndim != 4 or probs.shape[1] != n_classes + 1 or probs.shape[2:] != (chip, chip):
        raise EngineError(
            f"the model returned scores of shape {probs.shape}; "
            f"expected [batch, {n_classes + 1}, {chip}, {chip}]"
        )
    first = 0 if background or n_classes == 0 else 1
    index: np.ndarray = probs[:, first:, p : p + s, p : p + s].argmax(axis=1) + first
    return index


def _write_centre(
    dst: rasterio.io.DatasetWriter, inner: PixelWindow, chip: ChipSpec, block: np.ndarray
) -> int:
    c = chip.centre
    window = Window(c.col_off - inner.col_off, c.row_off - inner.row_off, c.width, c.height)
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
    mosaic = _Mosaic.of([Path(p) for p in part_paths])
    cmap = class_colormap(classes, int(mosaic.nodata if mosaic.nodata is not None else 0))
    out = Path(out_cog_path)
    progress(0, 1, "writing classified raster")
    with tempfile.TemporaryDirectory(dir=out.parent) as tmpdir:
        vrt = Path(tmpdir) / "mosaic.vrt"
        vrt.write_text(mosaic.vrt_xml(cmap, classes))
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


@dataclass(frozen=True)
class _Source:
    path: Path
    window: PixelWindow  # in the pixels of the first part's grid


@dataclass(frozen=True)
class _Mosaic:
    sources: list[_Source]
    window: PixelWindow  # union of the sources
    transform: Affine  # of the first part
    crs_wkt: str
    dtype: str
    nodata: float | None

    @classmethod
    def of(cls, paths: list[Path]) -> _Mosaic:
        if not paths:
            raise EngineInputError("no classified parts to merge")
        sources: list[_Source] = []
        ref: tuple[Affine, str, str, float | None] | None = None
        for p in paths:
            if not p.exists():
                raise EngineInputError(f"part file {p.name} is missing: a part of the job did not finish")
            with rasterio.open(p) as src:
                t, key = src.transform, (src.crs.to_wkt(), src.dtypes[0], src.nodata)
                if ref is None:
                    ref = (t, *key)
                same_grid = (
                    np.isclose(t.a, ref[0].a) and np.isclose(t.e, ref[0].e) and t.b == t.d == 0
                )
                if key != ref[1:] or not same_grid:
                    raise EngineInputError(f"part {p.name} is not on the same grid as {paths[0].name}")
                col = round((t.c - ref[0].c) / ref[0].a)
                row = round((t.f - ref[0].f) / ref[0].e)
                sources.append(_Source(p, PixelWindow(col, row, src.width, src.height)))
        assert ref is not None
        c0 = min(s.window.col_off for s in sources)
        r0 = min(s.window.row_off for s in sources)
        c1 = max(s.window.col_end for s in sources)
        r1 = max(s.window.row_end for s in sources)
        return cls(sources, PixelWindow(c0, r0, c1 - c0, r1 - r0), ref[0], *ref[1:])

    def vrt_xml(self, cmap: dict[int, tuple[int, int, int, int]], classes: Sequence[ClassInfo]) -> str:
        w = self.window
        root = ET.Element("VRTDataset", rasterXSize=str(w.width), rasterYSize=str(w.height))
        ET.SubElement(root, "SRS").text = self.crs_wkt
        transform = self.transform @ Affine.translation(w.col_off, w.row_off)
        ET.SubElement(root, "GeoTransform").text = ", ".join(repr(v) for v in transform.to_gdal())
        colors = {v: list(rgba[:3]) for v, rgba in cmap.items()}
        table = [
            {"value": int(c.value), "name": str(c.name), "color": colors.get(int(c.value), [0, 0, 0])}
            for c in classes
        ]
        ET.SubElement(ET.SubElement(root, "Metadata"), "MDI", key="CLASSES").text = json.dumps(table)
        band = ET.SubElement(root, "VRTRasterBand", dataType=_VRT_TYPES[self.dtype], band="1")
        if self.nodata is not None:
            ET.SubElement(band, "NoDataValue").text = str(int(self.nodata))
        ET.SubElement(band, "ColorInterp").text = "Palette"
        table_el = ET.SubElement(band, "ColorTable")
        for v in range(max(cmap) + 1):
            r, g, b, a = cmap.get(v, (0, 0, 0, 0))
            ET.SubElement(table_el, "Entry", c1=str(r), c2=str(g), c3=str(b), c4=str(a))
        for src in self.sources:
            s = src.window
            el = ET.SubElement(band, "SimpleSource")
            ET.SubElement(el, "SourceFilename", relativeToVRT="0").text = str(src.path.resolve())
            ET.SubElement(el, "SourceBand").text = "1"
            ET.SubElement(el, "SrcRect", xOff="0", yOff="0", xSize=str(s.width), ySize=str(s.height))
            ET.SubElement(
                el, "DstRect", xOff=str(s.col_off - w.col_off), yOff=str(s.row_off - w.row_off),
                xSize=str(s.width), ySize=str(s.height),
            )
        return ET.tostring(root, encoding="unicode")
