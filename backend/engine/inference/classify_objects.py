"""Classify Objects: one chip per feature, batched through a FeatureClassifier-style model.

With ``crop_size_fixed`` (the FeatureClassifier default, emd ``CropSizeFixed``) the chip is the
model's chip size centred on the centre of the feature's bounding box in the processing grid;
otherwise the feature's bounding box is read and resized to the chip size. With
``blacken_around_feature`` pixels outside the polygon are set to 0, as at export time.
``test_time_augmentation`` averages class probabilities over the chip's flips. A multi-label model
(emd MetaDataMode MultiLabeled_Tiles) gives each object every class whose probability reaches
``threshold``: class_name joins them with ";" (as ArcGIS does), class_value is the most probable
of them (-1 when none reaches it) and confidence its probability.
Features whose chip has no valid pixel (outside the raster or all NoData) are not yielded: the
caller leaves them unclassified.
"""
from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import shapely
import torch
from affine import Affine
from pyproj import Transformer
from rasterio.features import geometry_mask
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from backend.engine.errors import Cancelled, EngineError, EngineInputError
from backend.engine.inference.batching import gpu_memory_guard, to_model_input
from backend.engine.inference.classes import classifier_class
from backend.engine.inference.protocols import OBJECT_CLASSIFICATION, PredictorLike, ProbabilityPredictor
from backend.engine.inference.planning import pick_fields
from backend.engine.inference.reading import GridReader, open_raster, processing_grid
from backend.engine.inference.tiling import PixelWindow
from backend.engine.inference.tta import class_probabilities_with_tta
from backend.engine.types import Progress, ShouldStop, never_stop, no_progress


@dataclass(frozen=True)
class ClassifyObjectsArgs:
    batch_size: int = 4
    cell_size: float | None = None
    crop_size_fixed: bool = True
    blacken_around_feature: bool = False
    test_time_augmentation: bool = False
    multi_label: bool = False  # from the package (MetaDataMode), not a user argument
    threshold: float = 0.5  # multi-label models only

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> ClassifyObjectsArgs:
        """From coerced model arguments plus emd CropSizeFixed/BlackenAroundFeature; others ignored."""
        return cls(**pick_fields(cls, arguments))


@dataclass(frozen=True)
class ObjectClass:
    feature_id: Hashable
    class_value: int
    class_name: str
    confidence: float  # 0..1


@dataclass
class _Pending:
    ids: list[Hashable]
    chips: list[np.ndarray]


def classify_objects(
    raster_path: Path | str,
    features: Iterable[tuple[Hashable, dict[str, Any]]],
    predictor: PredictorLike,
    args: ClassifyObjectsArgs,
    progress: Progress = no_progress,
    should_stop: ShouldStop = never_stop,
) -> Iterator[ObjectClass]:
    """Yield the class of each ``(feature_id, GeoJSON geometry in EPSG:4326)``, in input order.

    Lazy: features are read, cut and classified ``batch_size`` at a time as the caller iterates.
    """
    if predictor.family != OBJECT_CLASSIFICATION:
        raise EngineInputError(
            f"this model is a {predictor.family.replace('_', ' ')} model; "
            f"Classify Objects needs an object classification model"
        )
    if args.batch_size < 1:
        raise EngineInputError(f"batch_size must be 1 or more (got {args.batch_size})")
    with open_raster(raster_path) as src:
        grid = processing_grid(src, args.cell_size)
    total = len(features) if isinstance(features, Sized) else 0
    to_native = Transformer.from_crs("EPSG:4326", grid.crs_wkt, always_xy=True)
    inverse = ~grid.transform
    size = predictor.chip_size
    pending = _Pending([], [])
    done = 0
    with GridReader(raster_path, grid, tuple(predictor.extract_bands)) as reader:
        for feature_id, geometry in features:
            if should_stop():
                raise Cancelled("classify objects cancelled")
            done += 1
            pixel_geom = _pixel_geometry(geometry, to_native, inverse, feature_id)
            chip = _cut_chip(reader, pixel_geom, size, args)
            if chip is not None:
                pending.ids.append(feature_id)
                pending.chips.append(chip)
            if len(pending.ids) == args.batch_size:
                yield from _classify(predictor, pending, args)
                pending = _Pending([], [])
                progress(done, total or done, f"{done} features classified")
        if pending.ids:
            yield from _classify(predictor, pending, args)
    progress(done, total or done, f"{done} features classified")


def _pixel_geometry(
    geometry: dict[str, Any], to_native: Transformer, inverse: Affine, feature_id: Hashable
) -> BaseGeometry:
    try:
        geom = shape(geometry)
    except Exception as exc:  # shapely raises several types for malformed GeoJSON
        raise EngineInputError(f"feature {feature_id} has an invalid geometry: {exc}") from exc

    def project(xy: np.ndarray) -> np.ndarray:
        x, y = to_native.transform(xy[:, 0], xy[:, 1])
        x, y = np.asarray(x), np.asarray(y)
        cols = inverse.a * x + inverse.b * y + inverse.c
        rows = inverse.d * x + inverse.e * y + inverse.f
        return np.column_stack([cols, rows])

    return shapely.transform(geom, project)


def _cut_chip(
    reader: GridReader, geom: BaseGeometry, size: int, args: ClassifyObjectsArgs
) -> np.ndarray | None:
    if geom.is_empty:
        return None
    c0, r0, c1, r1 = geom.bounds
    if args.crop_size_fixed:
        col = math.floor((c0 + c1) / 2 - size / 2 + 0.5)
        row = math.floor((r0 + r1) / 2 - size / 2 + 0.5)
        window = PixelWindow(col, row, size, size)
    else:
        col, row = math.floor(c0), math.floor(r0)
        window = PixelWindow(col, row, max(1, math.ceil(c1) - col), max(1, math.ceil(r1) - row))
    data, valid = reader.read(window)
    if not valid.any():
        return None
    if args.blacken_around_feature and geom.area > 0:
        outside = geometry_mask(
            [geom], out_shape=valid.shape, transform=Affine.translation(window.col_off, window.row_off)
        )
        data[:, outside] = 0
    if (window.width, window.height) != (size, size):
        resized = torch.nn.functional.interpolate(
            torch.from_numpy(data.astype(np.float32))[None], size=(size, size), mode="bilinear",
            align_corners=False,
        )[0].numpy()
        data = resized.round().astype(data.dtype) if np.issubdtype(data.dtype, np.integer) else resized
    return data


def _classify(predictor: PredictorLike, pending: _Pending, args: ClassifyObjectsArgs) -> Iterator[ObjectClass]:
    batch = np.stack(pending.chips)
    with gpu_memory_guard(args.batch_size):
        model_input = to_model_input(predictor, batch)
        if args.test_time_augmentation or args.multi_label:
            probs = _probabilities(predictor, model_input, args.test_time_augmentation)
            if args.multi_label:
                yield from _multi_label(predictor, pending.ids, probs, args.threshold)
                return
            index, confidence = probs.argmax(1), probs.max(1)
        else:
            index, confidence = predictor.classify(model_input)
    index = np.asarray(index).reshape(-1)
    confidence = np.asarray(confidence, dtype=np.float64).reshape(-1)
    if len(index) != len(pending.ids):
        raise EngineError(f"the model returned {len(index)} classes for {len(pending.ids)} chips")
    for fid, k, conf in zip(pending.ids, index, confidence):
        cls = classifier_class(predictor.classes, int(k))
        yield ObjectClass(fid, int(cls.value), str(cls.name), float(conf))


def _probabilities(predictor: PredictorLike, batch: torch.Tensor, tta: bool) -> np.ndarray:
    if not hasattr(predictor, "class_probabilities"):
        raise EngineInputError(
            "this package's runtime gives no per-class probabilities: turn test_time_augmentation off"
        )
    probabilistic = cast(ProbabilityPredictor, predictor)
    probs = class_probabilities_with_tta(probabilistic, batch) if tta else probabilistic.class_probabilities(batch)
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != len(predictor.classes):
        raise EngineError(f"the model returned scores shaped {list(probs.shape)} for {len(predictor.classes)} classes")
    return probs


def _multi_label(
    predictor: PredictorLike, ids: list[Hashable], probs: np.ndarray, threshold: float,
) -> Iterator[ObjectClass]:
    if len(probs) != len(ids):
        raise EngineError(f"the model returned {len(probs)} rows for {len(ids)} chips")
    for fid, row in zip(ids, probs):
        chosen = [int(k) for k in np.argsort(-row, kind="stable") if row[k] >= threshold]
        names = ";".join(str(classifier_class(predictor.classes, k).name) for k in chosen)
        value = int(classifier_class(predictor.classes, chosen[0]).value) if chosen else -1
        yield ObjectClass(fid, value, names, float(row[chosen[0]]) if chosen else float(row.max(initial=0.0)))
