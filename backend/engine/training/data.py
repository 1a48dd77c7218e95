"""Training samples as tensors: chips, their targets, split, augmentation and batching.

One `ChipDataset` serves every family; what a target is depends on the family:
- object_detection: {"boxes": float [n,4] xyxy, "labels": int64 [n] in 1..N}
- instance_detection: the same plus "masks": uint8 [n,H,W]
- pixel_classification: int64 [H,W] class index map (0 = NoData/background)
- object_classification: int64 scalar class index 0..N-1
Images are float tensors already scaled: 0..1 for detectors, normalised for the others.
"""
from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import rasterio
import torch
import torch.nn.functional as F
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning
from torch.utils.data import Dataset

from backend.engine.chips import reader
from backend.engine.errors import EngineInputError
from backend.engine.nets.catalog import (
    INSTANCE_DETECTION,
    OBJECT_CLASSIFICATION,
    OBJECT_DETECTION,
    PIXEL_CLASSIFICATION,
)
from backend.engine.nets.normalization import InputScaling
from backend.engine.training.augment import Dihedral

log = logging.getLogger(__name__)

MIN_BOX_SIZE = 1.0  # pixels; torchvision refuses degenerate boxes

FORMATS_BY_FAMILY: dict[str, tuple[str, ...]] = {
    OBJECT_DETECTION: ("PASCAL_VOC_rectangles", "KITTI_rectangles", "COCO"),
    INSTANCE_DETECTION: ("RCNN_Masks", "COCO"),
    PIXEL_CLASSIFICATION: ("Classified_Tiles",),
    OBJECT_CLASSIFICATION: ("Labeled_Tiles",),
}


def check_format(family: str, model_name: str, metadata_format: str) -> None:
    allowed = FORMATS_BY_FAMILY[family]
    if metadata_format not in allowed:
        raise EngineInputError(
            f"{model_name} trains on {' or '.join(allowed)} training data, but this folder was "
            f"exported as {metadata_format}; export the training data again with that "
            "metadata format or pick a model type that fits it"
        )


def split_indices(count: int, validation_percentage: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, valid) sample indices, the same for the same inputs."""
    order = np.random.default_rng(seed).permutation(count).tolist()
    n_valid = int(round(count * validation_percentage / 100.0))
    if validation_percentage > 0 and count >= 2:
        n_valid = min(max(n_valid, 1), count - 1)
    else:
        n_valid = 0
    return sorted(order[n_valid:]), sorted(order[:n_valid])


@dataclass(frozen=True)
class DataSpec:
    """What the dataset needs to know besides the samples."""

    family: str
    metadata_format: str
    classes: tuple[Any, ...]  # chips.reader ClassDef(value, name, color), in output order
    scaling: InputScaling
    chip_size: int  # model chip size; chips of another size are resized
    unit_inputs: bool  # detectors take 0..1 inputs


class ChipDataset(Dataset[tuple[torch.Tensor, Any]]):
    def __init__(self, samples: Sequence[Any], spec: DataSpec, augment: bool, seed: int) -> None:
        self.samples = list(samples)
        self.spec = spec
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        values = [c.value for c in spec.classes]
        self._index = {value: i for i, value in enumerate(values)}
        top = max((*values, 0)) + 1
        self._lut = np.zeros(max(top, 256), dtype=np.int64)
        for i, value in enumerate(values):
            if value >= 0:
                self._lut[value] = i + 1

    def __len__(self) -> int:
        return len(self.samples)

    def set_epoch(self, epoch: int) -> None:
        """Different augmentation each epoch, reproducible across runs and workers."""
        self.epoch = epoch

    def __getitem__(self, i: int) -> tuple[torch.Tensor, Any]:
        sample = self.samples[i]
        raw = torch.from_numpy(read_chip_zero_filled(sample))
        image = self._scale(raw)
        target = self._target(sample, image.shape[-2], image.shape[-1])
        image, target = self._resize(image, target)
        if self.augment:
            rng = np.random.default_rng((self.seed, self.epoch, i))
            square = image.shape[-1] == image.shape[-2]
            image, target = self._transform(Dihedral.random(rng, square), image, target)
        return image, target

    # --- pieces --------------------------------------------------------------------------

    def _scale(self, raw: torch.Tensor) -> torch.Tensor:
        batch = raw.unsqueeze(0)
        scaled = self.spec.scaling.unit(batch) if self.spec.unit_inputs else self.spec.scaling.normalized(batch)
        return scaled[0]

    def _target(self, sample: Any, height: int, width: int) -> Any:
        family = self.spec.family
        if family == OBJECT_DETECTION:
            return self._boxes(sample, width, height)
        if family == INSTANCE_DETECTION:
            return self._instances(sample)
        if family == PIXEL_CLASSIFICATION:
            values = np.asarray(reader.read_class_mask(sample)).astype(np.int64)
            return torch.from_numpy(self._lut[np.clip(values, 0, len(self._lut) - 1)])
        value = reader.read_tile_label(sample, self.spec.classes)
        if value not in self._index:
            raise EngineInputError(
                f"chip {sample.stem} is labelled with class value {value}, which the training "
                "data's class list does not define"
            )
        return torch.tensor(self._index[value], dtype=torch.int64)

    def _boxes(self, sample: Any, width: int, height: int) -> dict[str, torch.Tensor]:
        boxes, labels = [], []
        for box in reader.read_boxes(sample, self.spec.metadata_format, self.spec.classes):
            label = self._index.get(box.class_value)
            if label is None:
                continue  # a class left out of the class list
            x0, x1 = sorted((min(max(box.xmin, 0.0), width), min(max(box.xmax, 0.0), width)))
            y0, y1 = sorted((min(max(box.ymin, 0.0), height), min(max(box.ymax, 0.0), height)))
            if x1 - x0 >= MIN_BOX_SIZE and y1 - y0 >= MIN_BOX_SIZE:
                boxes.append((x0, y0, x1, y1))
                labels.append(label + 1)
        return {
            "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            "labels": torch.tensor(labels, dtype=torch.int64),
        }

    def _instances(self, sample: Any) -> dict[str, torch.Tensor]:
        masks, values = reader.read_instance_masks(sample)
        keep = [
            k for k, v in enumerate(np.asarray(values).tolist())
            if v in self._index and bool(np.asarray(masks[k]).any())
        ]
        h, w = np.asarray(masks).shape[-2:]
        m = torch.from_numpy(np.asarray(masks, dtype=bool)[keep].astype(np.uint8)).reshape(-1, int(h), int(w))
        target = {
            "masks": m,
            "labels": torch.tensor([self._index[int(values[k])] + 1 for k in keep], dtype=torch.int64),
        }
        target["boxes"] = boxes_from_masks(m)
        return _drop_small(target)

    def _resize(self, image: torch.Tensor, target: Any) -> tuple[torch.Tensor, Any]:
        size = self.spec.chip_size
        h, w = image.shape[-2:]
        if (h, w) == (size, size):
            return image, target
        image = F.interpolate(image[None], size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0]
        if isinstance(target, dict):
            target = dict(target)
            sx, sy = size / w, size / h
            target["boxes"] = target["boxes"] * torch.tensor([sx, sy, sx, sy])
            if "masks" in target:
                masks = target["masks"]
                target["masks"] = F.interpolate(masks[None].float(), size=(size, size), mode="nearest")[0].to(torch.uint8) if len(masks) else torch.zeros((0, size, size), dtype=torch.uint8)
            return image, _drop_small(target)
        if target.ndim == 2:
            target = F.interpolate(target[None, None].float(), size=(size, size), mode="nearest")[0, 0].long()
        return image, target

    def _transform(self, d: Dihedral, image: torch.Tensor, target: Any) -> tuple[torch.Tensor, Any]:
        if d.identity:
            return image, target
        h, w = image.shape[-2:]
        image = d.image(image)
        if isinstance(target, dict):
            target = dict(target)
            target["boxes"] = d.boxes(target["boxes"], h, w)
            if "masks" in target:
                target["masks"] = d.image(target["masks"])
        elif target.ndim == 2:
            target = d.image(target)
        return image.contiguous(), target


def read_chip_zero_filled(sample: Any) -> np.ndarray:
    """[bands,H,W] float32 chip with NoData pixels set to 0, as the inference reader fills them
    (nets.normalization: one definition of a chip's pixels). A pixel is NoData when every band
    is (GDAL's dataset mask), like the inference reader's validity rule."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(sample.image_path) as src:
            data = src.read().astype(np.float32)
            if src.nodata is not None or ColorInterp.alpha in src.colorinterp:
                valid = src.dataset_mask() > 0
                data[:, ~valid] = 0.0
    return np.ascontiguousarray(data)


def boxes_from_masks(masks: torch.Tensor) -> torch.Tensor:
    """[n,H,W] masks -> [n,4] float xyxy boxes enclosing them (pixel edges)."""
    if len(masks) == 0:
        return torch.zeros((0, 4), dtype=torch.float32)
    boxes = []
    for m in masks.bool():
        ys = torch.where(m.any(1))[0]
        xs = torch.where(m.any(0))[0]
        if len(xs) == 0:
            boxes.append((0.0, 0.0, 0.0, 0.0))
        else:
            boxes.append((float(xs[0]), float(ys[0]), float(xs[-1] + 1), float(ys[-1] + 1)))
    return torch.tensor(boxes, dtype=torch.float32)


def _drop_small(target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    b = target["boxes"]
    keep = ((b[:, 2] - b[:, 0]) >= MIN_BOX_SIZE) & ((b[:, 3] - b[:, 1]) >= MIN_BOX_SIZE)
    if bool(keep.all()):
        return target
    return {k: v[keep] for k, v in target.items()}


def collate_detection(batch: list[tuple[torch.Tensor, Any]]) -> tuple[list[torch.Tensor], list[Any]]:
    return [item[0] for item in batch], [item[1] for item in batch]


def collate_dense(batch: list[tuple[torch.Tensor, Any]]) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.stack([item[0] for item in batch]), torch.stack([item[1] for item in batch])
