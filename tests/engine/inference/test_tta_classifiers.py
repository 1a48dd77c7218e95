"""Test-time augmentation for pixel and object classifiers (probabilities averaged over flips,
pixel maps flipped back), and multi-label object classifiers (every class above the threshold)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

from backend.engine.errors import EngineInputError
from backend.engine.inference.classify_objects import ClassifyObjectsArgs, ObjectClass, classify_objects
from backend.engine.inference.classify_pixels import ClassifyPixelsArgs
from backend.engine.inference.tta import FLIPS, class_probabilities_with_tta, segment_with_tta

from .fakes import FakeClass, FakePredictor, squares_image, write_raster
from .test_classify_objects import feature


class LeftLeaningSegmenter:
    """Class 1's probability grows with the column: flips see it the other way round."""

    calls = 0

    def segment(self, batch: torch.Tensor) -> np.ndarray:
        self.calls += 1
        b, _, h, w = batch.shape
        right = np.broadcast_to(np.arange(w, dtype=np.float32) / (w - 1), (b, h, w))
        bright = (batch[:, 0].numpy() > 0.5).astype(np.float32)  # follows the image: flip-equivariant
        one = 0.5 * right + 0.5 * bright
        return np.stack([1 - one, one], axis=1)


def test_pixel_tta_maps_flipped_predictions_back_and_averages_them() -> None:
    batch = torch.zeros(2, 3, 8, 10)
    batch[0, 0, 1:3, 1:4] = 1.0  # an object near the top-left corner of chip 0
    seg = LeftLeaningSegmenter()
    probs = segment_with_tta(seg, batch)
    assert seg.calls == len(FLIPS) and probs.shape == (2, 2, 8, 10)
    # the part that follows the image stays where the object is (flipped back correctly) ...
    assert probs[0, 1, 1:3, 1:4] == pytest.approx(0.5 + 0.25, abs=1e-6)
    # ... the column bias averages out: half of its flips saw each column from the other side
    assert probs[1, 1] == pytest.approx(np.full((8, 10), 0.25), abs=1e-6)
    assert probs.sum(axis=1) == pytest.approx(np.ones((2, 8, 10)))


def test_classify_pixels_takes_the_tta_argument() -> None:
    assert ClassifyPixelsArgs.from_arguments({"test_time_augmentation": True}).test_time_augmentation


@dataclass
class ProbabilisticClassifier(FakePredictor):
    """Sees brightness in the left half of the chip only, so flips change its answer."""

    family: str = "object_classification"
    chip_size: int = 16
    classes: tuple[FakeClass, ...] = (FakeClass(10, "Tree"), FakeClass(20, "Roof"), FakeClass(30, "Car"))
    multi_label: bool = False
    calls: list[int] = field(default_factory=list)

    def class_probabilities(self, batch: torch.Tensor) -> np.ndarray:
        self.calls.append(len(batch))
        x = batch.numpy()
        left = (x[:, 0, :, : x.shape[-1] // 2] > 128).mean(axis=(1, 2))
        roof = np.clip(left * 2, 0, 1)
        return np.stack([1 - roof, roof, np.full_like(roof, 0.6)], axis=1).astype(np.float32)


def test_object_tta_averages_class_probabilities(tmp_path: Path) -> None:
    # a bright square in the left half of the chip: upright sees "Roof", left-right flips don't
    image = squares_image(64, 64, [(24, 20, 40, 32)])
    path = write_raster(tmp_path / "in.tif", image)
    feats = [("a", feature(24, 24, 40, 40))]
    plain = ProbabilisticClassifier()  # without TTA: the predictor's classify(), bright -> Roof
    assert list(classify_objects(path, feats, plain, ClassifyObjectsArgs(test_time_augmentation=False))) == [
        ObjectClass("a", 20, "Roof", pytest.approx(0.8))]
    assert plain.calls == []
    tta = ProbabilisticClassifier()
    [got] = classify_objects(path, feats, tta, ClassifyObjectsArgs(test_time_augmentation=True))
    assert tta.calls == [1] * len(FLIPS)
    assert got.class_name == "Car" and got.confidence == pytest.approx(0.6)  # Roof fell to 0.5
    direct = class_probabilities_with_tta(tta, torch.from_numpy(np.zeros((2, 3, 16, 16), np.float32)))
    assert direct.shape == (2, 3)


def test_multi_label_gives_every_class_above_the_threshold(tmp_path: Path) -> None:
    image = squares_image(64, 64, [(24, 20, 40, 32)])
    path = write_raster(tmp_path / "in.tif", image)
    feats = [("a", feature(24, 24, 40, 40)), ("dark", feature(2, 50, 10, 60))]
    model = ProbabilisticClassifier(multi_label=True)
    args = ClassifyObjectsArgs(multi_label=True, threshold=0.5)
    got = list(classify_objects(path, feats, model, args))
    assert [(g.feature_id, g.class_name, g.class_value) for g in got] == [("a", "Roof;Car", 20), ("dark", "Tree;Car", 10)]
    none = list(classify_objects(path, feats, model, ClassifyObjectsArgs(multi_label=True, threshold=0.99)))
    assert none[1] == ObjectClass("dark", 10, "Tree", 1.0)
    nothing = list(classify_objects(path, feats[:1], ProbabilisticClassifier(classes=(FakeClass(10, "Tree"), FakeClass(20, "Roof"), FakeClass(30, "Car"))),
                                    ClassifyObjectsArgs(multi_label=True, threshold=1.01)))
    assert nothing == [ObjectClass("a", -1, "", pytest.approx(1.0))]


def test_tta_on_a_runtime_without_probabilities_says_so(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "in.tif", squares_image(64, 64, []))
    plain = FakePredictor(family="object_classification", chip_size=16)
    with pytest.raises(EngineInputError, match="turn test_time_augmentation off"):
        list(classify_objects(path, [("a", feature(2, 2, 8, 8))], plain, ClassifyObjectsArgs(test_time_augmentation=True)))
