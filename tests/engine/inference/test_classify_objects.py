"""Classify Objects: a chip centred on each feature, batched, class values from the table."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from backend.engine.errors import Cancelled, EngineInputError
from backend.engine.inference.classify_objects import ClassifyObjectsArgs, ObjectClass, classify_objects

from .fakes import ORIGIN_X, ORIGIN_Y, FakeClass, FakePredictor, squares_image, write_raster
from .test_reading import extent_4326

torch.set_num_threads(1)
CLASSES = (FakeClass(10, "Intact"), FakeClass(20, "Damaged"))


def feature(r0: int, c0: int, r1: int, c1: int) -> dict:
    return extent_4326(ORIGIN_X + c0, ORIGIN_Y - r1, ORIGIN_X + c1, ORIGIN_Y - r0)


def classifier() -> FakePredictor:
    return FakePredictor(family="object_classification", chip_size=16, classes=CLASSES)


def test_each_feature_gets_the_class_of_its_chip(tmp_path: Path) -> None:
    # bright houses are "Damaged" (index 1), dark ones "Intact" (index 0)
    path = write_raster(tmp_path / "in.tif", squares_image(100, 100, [(10, 10, 22, 22), (60, 70, 72, 82)]))
    features = [
        ("a", feature(10, 10, 22, 22)),
        ("b", feature(40, 40, 50, 50)),
        ("c", feature(60, 70, 72, 82)),
        ("outside", feature(300, 300, 310, 310)),
        ("d", feature(0, 0, 4, 4)),  # at the raster corner: chip partly outside
    ]
    predictor = classifier()
    got = list(classify_objects(path, features, predictor, ClassifyObjectsArgs(batch_size=3)))
    assert got == [
        ObjectClass("a", 20, "Damaged", 0.8),
        ObjectClass("b", 10, "Intact", 0.6),
        ObjectClass("c", 20, "Damaged", 0.8),
        ObjectClass("d", 10, "Intact", 0.6),
    ]
    assert predictor.batches == [3, 1]


def test_blacken_and_bounding_box_crop(tmp_path: Path) -> None:
    # a bright area bigger than the feature: blackening around the feature hides it
    path = write_raster(tmp_path / "in.tif", squares_image(100, 100, [(20, 20, 60, 60)]))
    feats = [("x", feature(36, 36, 40, 40))]
    plain = list(classify_objects(path, feats, classifier(), ClassifyObjectsArgs()))
    black = list(classify_objects(path, feats, classifier(), ClassifyObjectsArgs(blacken_around_feature=True)))
    assert plain[0].class_name == "Damaged" and black[0].class_name == "Intact"
    # bounding-box crop: a 40 px feature resized to the 16 px chip, all bright
    big = [("y", feature(20, 20, 60, 60))]
    crop = list(classify_objects(path, big, classifier(), ClassifyObjectsArgs(crop_size_fixed=False)))
    assert crop[0].class_name == "Damaged"


def test_cancel_and_wrong_family(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "in.tif", squares_image(50, 50, []))
    feats = [(i, feature(10, 10, 20, 20)) for i in range(10)]
    with pytest.raises(Cancelled):
        list(classify_objects(path, feats, classifier(), ClassifyObjectsArgs(), should_stop=lambda: True))
    with pytest.raises(EngineInputError, match="Classify Objects needs"):
        list(classify_objects(path, feats, FakePredictor(), ClassifyObjectsArgs()))
    with pytest.raises(EngineInputError, match="out of GPU memory: lower batch_size \\(now 4\\)"):
        p = classifier()
        p.raise_oom = True
        list(classify_objects(path, feats, p, ClassifyObjectsArgs()))
