"""Export Training Data For Deep Learning: cut labelled chips from rasters into a folder laid
out like ArcGIS Pro's (images/, labels/, map.txt, stats.txt, esri_accumulated_stats.json,
esri_model_definition.emd), or a COCO instances file for the COCO format."""
from __future__ import annotations

import os
import shutil
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rasterio.enums import Resampling
from shapely.geometry.base import BaseGeometry

from backend.engine.chips.chipio import ChipReader, ChipWriter, check_chip_format
from backend.engine.chips.features import (
    DEFAULT_BUFFER_CELLS, ChipLabel, FeatureIndex, clip_to_chip, to_crs,
)
from backend.engine.chips.grid import ChipSpec, centred_spec, rotated, tile_count, tile_specs
from backend.engine.chips.labelfiles import (
    ChipContext, LabelResult, LabelWriter, feature_mask, make_writer,
)
from backend.engine.chips.metadata import CellSize, ExportFacts, MapWriter, write_metadata
from backend.engine.chips.params import (
    ClassDef, ExportParams, ExportSummary, LabelFeature, RasterSource, validate_classes,
)
from backend.engine.chips.stats import BandStats, ChipMoments, LabelStats, chip_moments
from backend.engine.errors import Cancelled, EngineInputError
from backend.engine.types import Progress, ShouldStop, never_stop, no_progress

# A pipeline of threads (GDAL, file I/O and numpy release the GIL): one reads chip pixels
# ahead, the main thread clips labels and numbers chips, and WRITE_THREADS write the files and
# compute chip statistics. Results are merged in chip order; at most READ_AHEAD +
# MAX_IN_FLIGHT chips are held in memory. WRITE_THREADS = 1 runs everything in this thread.
WRITE_THREADS = max(1, min(4, os.cpu_count() or 1))
MAX_IN_FLIGHT = 2 * WRITE_THREADS
READ_AHEAD = 2


@dataclass(frozen=True)
class _RasterPlan:
    source: RasterSource
    count: int
    dtype: np.dtype
    chips: int  # candidate chips (before skipping empty ones), for progress


def export_training_data(
    rasters: Sequence[RasterSource],
    features: Sequence[LabelFeature],
    classes: Sequence[ClassDef],
    params: ExportParams,
    out_dir: Path,
    progress: Progress = no_progress,
    should_stop: ShouldStop = never_stop,
) -> ExportSummary:
    """Export chips and labels of ``features`` (EPSG:4326) from ``rasters`` into ``out_dir``.

    Chips are numbered consecutively across the rasters from ``params.start_index``. Tiles cover
    each raster (or the processing extent) with the given stride; the last row/column is padded
    with 0/nodata where it runs past the raster. ``out_dir`` must be absent or empty; it is
    deleted again when the export fails or is cancelled.
    """
    params.validate()
    classes = tuple(classes)
    validate_classes(classes, params.metadata_format)
    known = {c.value for c in classes}
    for feature in features:
        if feature.class_value not in known:
            raise EngineInputError(
                f"feature {feature.feature_id}: class value {feature.class_value} is not one of "
                f"the classes ({', '.join(str(v) for v in sorted(known))})"
            )
    if not rasters:
        raise EngineInputError("in_rasters: give at least one raster")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise EngineInputError(f"output folder {out_dir} is not empty")
    plans = [_plan(source, features, params) for source in rasters]
    first = plans[0]
    for plan in plans[1:]:
        if (plan.count, plan.dtype) != (first.count, first.dtype):
            raise EngineInputError(
                f"raster {plan.source.raster_id} has {plan.count} {plan.dtype} bands but raster "
                f"{first.source.raster_id} has {first.count} {first.dtype}; export them separately"
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _Export(plans, features, classes, params, out_dir, progress, should_stop).run()
    except BaseException:
        shutil.rmtree(out_dir, ignore_errors=True)
        raise


def _plan(source: RasterSource, features: Sequence[LabelFeature], params: ExportParams
          ) -> _RasterPlan:
    with ChipReader(Path(source.path), params.cell_size) as reader:
        check_chip_format(params.image_chip_format, reader.count, reader.dtype,
                          str(source.raster_id))
        angles = len(params.rotation_angles())
        if params.metadata_format == "Labeled_Tiles":
            chips = len(_labeled_index(reader, features, params)[0])
        else:
            extent = _extent(reader, params.processing_extent)
            chips = 0 if extent is False else tile_count(
                reader.grid, params.tile_size_x, params.tile_size_y, params.stride_x,
                params.stride_y, extent)
        return _RasterPlan(source, reader.count, reader.dtype, chips * angles)


def _extent(reader: ChipReader, extent: BaseGeometry | None) -> BaseGeometry | None | bool:
    """The processing extent in the raster CRS, None for "all", False when it misses."""
    if extent is None:
        return None
    local = to_crs([extent], reader.crs_wkt)[0].intersection(reader.grid.footprint())
    return False if local.is_empty or local.area <= 0 else local


def _radius(reader: ChipReader, params: ExportParams) -> float:
    if params.buffer_radius is not None:
        return params.buffer_radius
    return DEFAULT_BUFFER_CELLS * float(max(reader.cell_size))


def _labeled_index(reader: ChipReader, features: Sequence[LabelFeature], params: ExportParams
                   ) -> tuple[list[int], FeatureIndex]:
    """Labeled_Tiles: positions (in the index) of the features to centre a chip on."""
    area = reader.grid.footprint()
    index = FeatureIndex.build(features, reader.crs_wkt, area, _radius(reader, params))
    extent = _extent(reader, params.processing_extent)
    if extent is False:
        return [], index
    chosen = [i for i, f in enumerate(index.features)
              if extent is None or f.geometry.intersects(extent)]
    return chosen, index


class _Export:
    def __init__(self, plans: list[_RasterPlan], features: Sequence[LabelFeature],
                 classes: tuple[ClassDef, ...], params: ExportParams, out_dir: Path,
                 progress: Progress, should_stop: ShouldStop) -> None:
        self.plans, self.features, self.classes, self.params = plans, features, classes, params
        self.out_dir, self.progress, self.should_stop = out_dir, progress, should_stop
        self.total = sum(p.chips for p in plans)
        self.done = 0
        self.index = params.start_index
        self.bands = BandStats(plans[0].count)
        self.label_stats = LabelStats(classes)
        self.used_features: set[int] = set()
        self.cells: list[CellSize] = []
        self.band_names: tuple[str, ...] = ()

    def run(self) -> ExportSummary:
        params = self.params
        (self.out_dir / "images").mkdir()
        labels = make_writer(params.metadata_format, self.out_dir, self.classes)
        self.progress(0, self.total, "exporting chips")
        with MapWriter(self.out_dir, params.metadata_format != "COCO") as maps, _executor(WRITE_THREADS, "export-write") as pool:
            pending: _Pending = deque()
            try:
                for number, plan in enumerate(self.plans, start=1):
                    self._raster(plan, labels, pool, pending, maps,
                                 f"raster {number}/{len(self.plans)}")
                self._collect(pending, maps, 0)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        chip_count = self.index - params.start_index
        if chip_count == 0:
            raise EngineInputError(
                "no chips were exported: no label falls on the rasters inside the processing "
                "extent (check the labels' location, min_polygon_overlap_ratio and the extent), "
                "or set output_nofeature_tiles"
            )
        labels.finish()
        cells = sorted(self.cells, key=lambda c: (c.x, c.y))
        facts = ExportFacts(params, self.classes, self.band_names, len(self.plans), chip_count,
                            self.index, cells[0] if cells else None,
                            cells[-1] if cells else None)
        write_metadata(self.out_dir, facts, self.bands, self.label_stats)
        self.progress(self.total, self.total, f"exported {chip_count} chips")
        missed = len(self.features) - len(self.used_features)
        warnings = (f"{missed} of {len(self.features)} features are in no chip (outside the "
                    "rasters or extent, or under min_polygon_overlap_ratio)",) if missed else ()
        return ExportSummary(
            chip_count=chip_count, class_stats=self.label_stats.class_stats(),
            out_dir=self.out_dir, metadata_format=params.metadata_format,
            band_count=self.plans[0].count, dtype=str(self.plans[0].dtype),
            tile_size=(params.tile_size_y, params.tile_size_x), first_index=params.start_index,
            next_index=self.index, feature_count=self.label_stats.features, warnings=warnings,
        )

    def _raster(self, plan: _RasterPlan, labels: LabelWriter, pool: ThreadPoolExecutor,
                pending: _Pending, maps: MapWriter, where: str) -> None:
        params = self.params
        # One thread reads ahead (a dataset must not be read by two threads at once) while
        # this one clips the labels of the next chips.
        with ChipReader(Path(plan.source.path), params.cell_size) as reader, \
                _executor(1, "export-read") as read_pool:
            if not self.band_names:
                self.band_names = reader.band_names
            self.cells.append(CellSize(reader.cell_size[0], reader.cell_size[1], reader.epsg,
                                       reader.crs_wkt))
            writer = ChipWriter(params.image_chip_format, reader.count, reader.dtype,
                                reader.crs_wkt, reader.nodata)
            reads: deque[_Read] = deque()
            for spec, index, centre in self._chips(reader):
                if self.should_stop():
                    raise Cancelled("export training data was cancelled")
                self.done += 1
                found = self._labels(spec, index, centre)
                if found is not None:
                    scaled = centre is not None and params.crop_mode == "BOUNDING_BOX"
                    resampling = Resampling.bilinear if scaled else Resampling.nearest
                    reads.append((spec, centre, found,
                                  read_pool.submit(reader.read, spec, resampling)))
                    while len(reads) > READ_AHEAD:
                        self._write(reads.popleft(), reader, writer, labels, pool, pending, maps)
                self.progress(self.done, self.total,
                              f"{self.index - params.start_index} chips exported ({where})")
            while reads:
                self._write(reads.popleft(), reader, writer, labels, pool, pending, maps)

    def _collect(self, pending: _Pending, maps: MapWriter, keep: int) -> None:
        """Finish written chips in order until at most ``keep`` are in flight."""
        while len(pending) > keep:
            future, found, name = pending.popleft()
            result, moments = future.result()
            maps.add(name, result.map_label)
            self.label_stats.add(found, result.class_pixels)
            self.bands.merge(moments)

    def _chips(self, reader: ChipReader
               ) -> Iterator[tuple[ChipSpec, FeatureIndex, int | None]]:
        """(chip, feature index, centre feature position for Labeled_Tiles) in export order."""
        params = self.params
        angles = params.rotation_angles()
        if params.metadata_format == "Labeled_Tiles":
            chosen, index = _labeled_index(reader, self.features, params)
            for position in chosen:
                base = centred_spec(reader.grid, index.features[position].geometry,
                                    params.tile_size_x, params.tile_size_y,
                                    params.crop_mode == "FIXED_SIZE", position)
                for angle in angles:
                    yield rotated(base, angle), index, position
            return
        extent = _extent(reader, params.processing_extent)
        if extent is False:
            return
        area = reader.grid.footprint()
        index = FeatureIndex.build(self.features, reader.crs_wkt, area, _radius(reader, params))
        for base in tile_specs(reader.grid, params.tile_size_x, params.tile_size_y,
                               params.stride_x, params.stride_y, extent):
            for angle in angles:
                yield rotated(base, angle), index, None

    def _labels(self, spec: ChipSpec, index: FeatureIndex, centre: int | None
                ) -> list[ChipLabel] | None:
        """The chip's labels, or None when the chip is skipped for want of labels."""
        if centre is not None:
            one = clip_to_chip(index.features[centre], spec)
            return [one] if one is not None else None
        found = index.in_chip(spec, self.params.min_polygon_overlap_ratio)
        return found if found or self.params.output_nofeature_tiles else None

    def _write(self, read: _Read, reader: ChipReader, writer: ChipWriter, labels: LabelWriter,
               pool: ThreadPoolExecutor, pending: _Pending, maps: MapWriter) -> None:
        """Number a read chip and hand its files to the writers (unless it is all nodata)."""
        spec, centre, found, future = read
        data, valid = future.result()
        if centre is not None and self.params.blacken_around_feature:
            valid &= feature_mask(found[0], spec.height, spec.width)
        if not valid.any():
            return  # nothing but nodata: no use for training
        data = writer.prepare(data, valid)
        self.used_features.update(label.feature.index for label in found)
        stem = f"{self.index:09d}"
        name = f"{stem}.{writer.ext}"
        self.index += 1
        context = ChipContext(stem, name, spec.width, spec.height, reader.count,
                              spec.transform, reader.crs_wkt, found)
        pending.append((pool.submit(_write_chip, writer, labels, self.out_dir / "images" / name,
                                    data, valid, context), found, name))
        self._collect(pending, maps, MAX_IN_FLIGHT)


class _InlineExecutor(ThreadPoolExecutor):
    """Runs jobs at submit time (one-core machines, where threads only add GIL hand-offs)."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        future: Future[object] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller via the future
            future.set_exception(exc)
        return future


def _executor(workers: int, name: str) -> ThreadPoolExecutor:
    if WRITE_THREADS <= 1:
        return _InlineExecutor(1)
    return ThreadPoolExecutor(workers, thread_name_prefix=name)


_Written = tuple[LabelResult, ChipMoments | None]
_Read = tuple[ChipSpec, int | None, list[ChipLabel], Future[tuple[np.ndarray, np.ndarray]]]
_Pending = deque[tuple[Future[_Written], list[ChipLabel], str]]


def _write_chip(writer: ChipWriter, labels: LabelWriter, path: Path, data: np.ndarray,
                valid: np.ndarray, context: ChipContext) -> _Written:
    """Worker: the chip's files and statistics."""
    writer.write(path, data, context.transform)
    return labels.write(context), chip_moments(data, valid)
