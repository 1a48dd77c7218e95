"""Test-time augmentation: flips mapped back and merged per object by merge_policy."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from backend.engine.errors import EngineInputError
from backend.engine.inference.detect import DetectArgs
from backend.engine.inference.tta import detect_with_tta


@dataclass
class Found:
    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    masks: np.ndarray | None = None


class BrightSquareDetector:
    """A real (if simple) detector: the bounding box of the pixels above 0.5 in band 0, and a
    mask of them. `upright_only` only fires when the square sits in the top-left quarter, so
    flipped copies miss it."""

    def __init__(self, upright_only: bool = False, shift_right: int = 0) -> None:
        self.upright_only = upright_only
        self.shift_right = shift_right  # a biased box: its flips err the other way
        self.calls = 0

    def detect(self, batch: torch.Tensor, threshold: float, nms_overlap: float) -> list[Found]:
        self.calls += 1
        out = []
        for image in batch:
            on = (image[0] > 0.5).numpy()
            ys, xs = np.nonzero(on)
            top_left = len(xs) and xs.mean() < on.shape[1] / 2 and ys.mean() < on.shape[0] / 2
            if len(xs) == 0 or (self.upright_only and not top_left):
                out.append(Found(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64),
                                 np.zeros((0, *on.shape), bool)))
                continue
            box = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
            box[:, [0, 2]] += self.shift_right
            out.append(Found(box, np.array([0.8], np.float32), np.array([1]), on[None]))
        return out


def _batch() -> torch.Tensor:
    batch = torch.zeros(2, 3, 32, 48)
    batch[0, 0, 2:10, 3:13] = 1.0  # top-left square: x 3..13, y 2..10
    batch[1, 0, 20:30, 30:44] = 1.0
    return batch


def test_flips_map_back_onto_the_same_object() -> None:
    detector = BrightSquareDetector()
    merged = detect_with_tta(detector, _batch(), 0.5, 0.1, "mean")  # type: ignore[arg-type]
    assert detector.calls == 4
    assert merged[0].boxes.tolist() == [[3.0, 2.0, 13.0, 10.0]] and merged[0].scores.tolist() == pytest.approx([0.8])
    assert merged[1].boxes.tolist() == [[30.0, 20.0, 44.0, 30.0]]
    assert merged[0].masks is not None and merged[0].masks[0, 2:10, 3:13].all() and merged[0].masks.sum() == 80


def test_flipped_boxes_of_one_object_are_fused_weighted_by_score() -> None:
    """A box 1 px too far right comes back 1 px too far left from the left-right flips: the
    merged box averages them (weighted box fusion) instead of keeping one error."""
    merged = detect_with_tta(BrightSquareDetector(shift_right=1), _batch()[:1], 0.5, 0.1, "mean")  # type: ignore[arg-type]
    assert merged[0].boxes.tolist() == [pytest.approx([3.0, 2.0, 13.0, 10.0])]
    assert merged[0].scores.tolist() == pytest.approx([0.8])


def test_merge_policy_decides_the_score_of_an_object_only_some_flips_found() -> None:
    batch = _batch()[:1]
    scores = {p: detect_with_tta(BrightSquareDetector(upright_only=True), batch, 0.5, 0.1, p)[0].scores.tolist()  # type: ignore[arg-type]
              for p in ("mean", "max", "min")}
    assert scores["mean"] == pytest.approx([0.2]) and scores["max"] == pytest.approx([0.8])
    assert scores["min"] == pytest.approx([0.0])


def test_detect_args_take_and_check_the_tta_arguments() -> None:
    args = DetectArgs.from_arguments({"test_time_augmentation": True, "merge_policy": "max", "threshold": 0.3})
    assert args.test_time_augmentation and args.merge_policy == "max"
    with pytest.raises(EngineInputError, match="merge_policy"):
        DetectArgs(merge_policy="median").validate()
