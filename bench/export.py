"""Benchmark Export Training Data against a rasterio-only floor.

Builds a larger raster by mosaicking tests/data/OSBS_029.tif (400x400 RGB, 0.1 m) n x n times
in a temp dir, with its 61 tree boxes repeated per copy, then times:
- floor: the same chip windows read with rasterio and written as GeoTIFFs with rasterio alone;
- export: export_training_data (PASCAL VOC, TIFF chips, all tiles, labels and statistics).
Prints chips/s of both, their ratio (goal: export >= 0.8 x floor) and process CPU time per
chip. The export runs with its default writer threads and with none.

    .venv/bin/python bench/export.py [--copies 6] [--tile 256] [--stride 128] [--repeat 3]
                                     [--workdir DIR]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.windows import Window
from shapely.affinity import translate
from shapely.geometry import shape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import backend.engine.chips.export as export_module  # noqa: E402
from backend.engine.chips import (  # noqa: E402
    ClassDef, ExportParams, LabelFeature, RasterSource, export_training_data,
)
from backend.engine.chips.grid import Grid, tile_specs  # noqa: E402

DATA = ROOT / "tests" / "data"


def build_mosaic(folder: Path, copies: int, tile: int, stride: int
                 ) -> tuple[Path, list[LabelFeature]]:
    """n x n copies of OSBS_029, cropped so the chip grid fits exactly (no padded chips)."""
    with rasterio.open(DATA / "OSBS_029.tif") as src:
        block = src.read()
        profile = src.profile
        res = src.transform.a
        left, top = src.transform.c, src.transform.f
        crs = src.crs
    full = block.shape[1] * copies
    size = tile + stride * ((full - tile) // stride)
    mosaic = np.tile(block, (1, copies, copies))[:, :size, :size]
    profile.update(width=size, height=size, tiled=True, blockxsize=256, blockysize=256,
                   compress="lzw", transform=Affine(res, 0, left, 0, -res, top))
    path = folder / "mosaic.tif"
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(mosaic)
    boxes = json.loads((DATA / "OSBS_029.geojson").read_text())["features"]
    to_wgs84 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(to_wgs84.transform(coords[:, 0], coords[:, 1]))

    features: list[LabelFeature] = []
    span = block.shape[1] * res
    for row in range(copies):
        for col in range(copies):
            for item in boxes:
                moved = translate(shape(item["geometry"]), col * span, -row * span)
                features.append(LabelFeature(len(features), shapely.transform(moved, project), 1))
    return path, features


def floor_run(path: Path, out: Path, tile: int, stride: int) -> int:
    """Read each chip window and write it as a GeoTIFF, with rasterio only."""
    (out / "images").mkdir(parents=True)
    count = 0
    with rasterio.open(path) as src:
        crs = src.crs.to_wkt()
        grid = Grid(src.transform, src.width, src.height)
        for spec in tile_specs(grid, tile, tile, stride, stride, None):
            col, row = (round(v) for v in ~src.transform @ (spec.transform.c, spec.transform.f))
            data = src.read(window=Window(col, row, tile, tile))
            with rasterio.open(out / "images" / f"{count:09d}.tif", "w", driver="GTiff",
                               width=tile, height=tile, count=src.count, dtype=data.dtype,
                               crs=crs, transform=spec.transform) as dst:
                dst.write(data)
            count += 1
    return count


def _timed(run: Callable[[], int]) -> tuple[float, float]:
    """(chips per wall second, process CPU ms per chip) of one run."""
    cpu, wall = time.process_time(), time.perf_counter()
    chips = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return chips / wall, cpu * 1000 / chips


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--copies", type=int, default=6, help="mosaic is copies x copies")
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--stride", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; best is shown")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the temp folder goes (default: the system temp dir)")
    args = parser.parse_args()
    threads = export_module.WRITE_THREADS
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        folder = Path(tmp)
        path, features = build_mosaic(folder, args.copies, args.tile, args.stride)
        with rasterio.open(path) as src:
            print(f"raster {src.width}x{src.height}x{src.count} {src.dtypes[0]}, "
                  f"{len(features)} labels, tile {args.tile} stride {args.stride}, "
                  f"{os.cpu_count()} CPUs, workdir {folder.parent}")
        params = ExportParams("PASCAL_VOC_rectangles", args.tile, args.tile, args.stride,
                              args.stride, output_nofeature_tiles=True)
        classes = [ClassDef(1, "Tree", (0, 200, 0))]
        out = folder / "out"
        counts: list[int] = []

        def floor() -> int:
            counts.append(floor_run(path, out, args.tile, args.stride))
            return counts[-1]

        def export(write_threads: int) -> Callable[[], int]:
            def run() -> int:
                export_module.WRITE_THREADS = write_threads
                summary = export_training_data([RasterSource(path, 1)], features, classes,
                                               params, out)
                counts.append(summary.chip_count)
                return summary.chip_count
            return run

        runs = {"floor (rasterio read + write)": floor,
                f"export, {threads} writer threads": export(threads),
                "export, no writer threads": export(1)}
        best: dict[str, tuple[float, float]] = {}
        for _ in range(args.repeat):  # interleaved, so load changes hit all alike
            for name, run in runs.items():
                rate, cpu = _timed(run)
                shutil.rmtree(out)
                old = best.get(name, (0.0, math.inf))
                best[name] = (max(old[0], rate), min(old[1], cpu))
        export_module.WRITE_THREADS = threads
        assert len(set(counts)) == 1, counts
        print(f"chips per run: {counts[0]}")
        floor_rate, floor_cpu = best["floor (rasterio read + write)"]
        for name, (rate, cpu) in best.items():
            print(f"{name:34s} {rate:8.1f} chips/s  {rate / floor_rate:5.2f} x floor   "
                  f"CPU {cpu:5.2f} ms/chip")
        print("goal: export >= 0.80 x floor")


if __name__ == "__main__":
    main()
