"""Training samples: split, targets from real export folders, resizing and augmentation."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from backend.engine.chips.params import ClassDef
from backend.engine.nets.normalization import IMAGENET
from backend.engine.training.augment import Dihedral
from backend.engine.training.data import ChipDataset, DataSpec, boxes_from_masks, split_indices
from backend.engine.training.setup import folder_scaling


def _spec(folder: Any, family: str, unit: bool, chip: int | None = None, classes: Any = None) -> DataSpec:
    scaling = IMAGENET if folder.is_8bit_rgb else folder_scaling(folder)
    return DataSpec(family, folder.metadata_format, tuple(classes or folder.classes), scaling,
                    chip or folder.chip_size[0], unit)


@pytest.mark.parametrize("turns", range(4))
@pytest.mark.parametrize("flip", [False, True])
def test_dihedral_boxes_follow_the_pixels(turns: int, flip: bool) -> None:
    h, w = 20, 20
    boxes = torch.tensor([[2.0, 3.0, 9.0, 7.0], [11.0, 0.0, 20.0, 16.0]])
    masks = torch.zeros((2, h, w), dtype=torch.uint8)
    for k, (x0, y0, x1, y1) in enumerate(boxes.int().tolist()):
        masks[k, y0:y1, x0:x1] = 1
    d = Dihedral(turns, flip)
    assert torch.equal(d.boxes(boxes, h, w), boxes_from_masks(d.image(masks)))


def test_non_square_chips_are_only_flipped_or_turned_half_way() -> None:
    rng = np.random.default_rng(0)
    assert {Dihedral.random(rng, square=False).quarter_turns for _ in range(50)} == {0, 2}
    h, w = 10, 30
    boxes = torch.tensor([[1.0, 2.0, 25.0, 6.0]])
    masks = torch.zeros((1, h, w), dtype=torch.uint8)
    masks[0, 2:6, 1:25] = 1
    d = Dihedral(2, True)
    assert torch.equal(d.boxes(boxes, h, w), boxes_from_masks(d.image(masks)))


def test_split_is_fixed_and_keeps_training_data() -> None:
    assert split_indices(10, 20, 42) == split_indices(10, 20, 42)
    train, valid = split_indices(10, 20, 42)
    assert len(valid) == 2 and sorted(train + valid) == list(range(10))
    assert split_indices(10, 0, 42)[1] == []
    assert split_indices(2, 90, 42)[0] != [] and split_indices(1, 50, 42) == ([0], [])


def test_detection_samples(exports: Any) -> None:
    folder = exports("voc64")
    data = ChipDataset(folder.samples, _spec(folder, "object_detection", True), augment=False, seed=0)
    image, target = data[0]
    assert image.shape == (3, 64, 64) and 0 <= float(image.min()) and float(image.max()) <= 1
    assert len(target["boxes"]) > 0 and set(target["labels"].tolist()) == {1}
    b = target["boxes"]
    assert (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all() and float(b.max()) <= 64

    small = ChipDataset(folder.samples, _spec(folder, "object_detection", True, chip=32), False, 0)
    image32, target32 = small[0]
    assert image32.shape == (3, 32, 32)
    kept = target32["boxes"]
    assert torch.allclose(kept, b[: len(kept)] / 2) or len(kept) <= len(b)


def test_augmented_samples_change_per_epoch_but_are_reproducible(exports: Any) -> None:
    folder = exports("voc64")
    spec = _spec(folder, "object_detection", True)
    a = ChipDataset(folder.samples, spec, augment=True, seed=3)
    b = ChipDataset(folder.samples, spec, augment=True, seed=3)
    views = []
    for epoch in range(6):
        a.set_epoch(epoch)
        b.set_epoch(epoch)
        assert torch.equal(a[1][0], b[1][0])
        views.append(a[1][0])
    assert any(not torch.equal(views[0], v) for v in views[1:])


def test_instance_samples(exports: Any) -> None:
    folder = exports("masks64")
    data = ChipDataset(folder.samples, _spec(folder, "instance_detection", True), False, 0)
    _, target = data[0]
    masks = target["masks"]
    assert masks.dtype == torch.uint8 and masks.shape[1:] == (64, 64) and len(masks) == len(target["labels"])
    assert torch.equal(target["boxes"], boxes_from_masks(masks))


def test_pixel_samples_map_class_values_to_indices(exports: Any) -> None:
    folder = exports("tiles64_4band")
    data = ChipDataset(folder.samples, _spec(folder, "pixel_classification", False), False, 0)
    _, target = data[0]
    assert target.dtype == torch.int64 and set(target.unique().tolist()) == {0, 1}
    # a class list where value 1 comes second: its pixels become index 2
    other = [ClassDef(9, "Other", (1, 2, 3)), ClassDef(1, "Tree", (0, 160, 0))]
    _, remapped = ChipDataset(folder.samples, _spec(folder, "pixel_classification", False, classes=other), False, 0)[0]
    assert torch.equal(remapped, target * 2)


def test_tile_labels(exports: Any) -> None:
    folder = exports("labeled64")
    data = ChipDataset(folder.samples, _spec(folder, "object_classification", False), False, 0)
    labels = {int(data[i][1]) for i in range(len(data))}
    assert labels <= {0, 1} and len(labels) == 2
