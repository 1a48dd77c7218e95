"""Cross-tile NMS equals torchvision's greedy NMS, class-aware or not, and streams part files."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.ops import batched_nms, nms

from backend.engine.errors import EngineInputError
from backend.engine.inference.nms import merge_detection_parts, non_max_suppression

torch.set_num_threads(1)


def random_boxes(n: int, seed: int, extent: float = 1000.0, size: float = 40.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, extent, (n, 2)) + 3_285_000.0  # map-like coordinates (UTM northing)
    wh = rng.uniform(2, size, (n, 2))
    return np.hstack([xy, xy + wh])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ratio", [0.0, 0.05, 0.3, 0.7])
def test_class_agnostic_equals_torchvision_nms(seed: int, ratio: float) -> None:
    boxes = random_boxes(1500, seed)
    scores = np.random.default_rng(seed + 10).uniform(0, 1, len(boxes))
    got = non_max_suppression(boxes, scores, None, ratio, class_agnostic=True)
    want = nms(torch.from_numpy(boxes), torch.from_numpy(scores), ratio).numpy()
    assert got.tolist() == want.tolist()  # same boxes, same (decreasing score) order


@pytest.mark.parametrize("seed", [3, 4])
@pytest.mark.parametrize("ratio", [0.0, 0.2])
def test_class_aware_equals_torchvision_batched_nms(seed: int, ratio: float) -> None:
    boxes = random_boxes(1500, seed)
    rng = np.random.default_rng(seed)
    scores = rng.uniform(0, 1, len(boxes))
    classes = rng.integers(1, 4, len(boxes))
    got = non_max_suppression(boxes, scores, classes, ratio, class_agnostic=False)
    want = batched_nms(
        torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(classes), ratio
    ).numpy()
    assert sorted(got.tolist()) == sorted(want.tolist())
    agnostic = non_max_suppression(boxes, scores, classes, ratio, class_agnostic=True)
    assert len(agnostic) < len(got)  # classes no longer protect each other


def test_small_sweep_strips_give_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.engine.inference import nms as nms_module

    boxes = random_boxes(3000, 11, extent=600.0)
    boxes[::50, 3] += 300  # a few tall boxes reach across many strips
    scores = np.random.default_rng(12).uniform(0, 1, len(boxes))
    want = nms(torch.from_numpy(boxes), torch.from_numpy(scores), 0.1).numpy()
    monkeypatch.setattr(nms_module, "_STRIP", 97)
    assert non_max_suppression(boxes, scores, None, 0.1, class_agnostic=True).tolist() == want.tolist()


def test_class_aware_keeps_overlapping_boxes_of_other_classes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [2, 2, 12, 12]], dtype=float)
    scores = np.array([0.9, 0.8, 0.7])
    classes = np.array([1, 2, 1])
    assert non_max_suppression(boxes, scores, classes, 0.1).tolist() == [0, 1]
    assert non_max_suppression(boxes, scores, classes, 0.1, class_agnostic=True).tolist() == [0]


def test_touching_boxes_survive_a_zero_ratio() -> None:
    boxes = np.array([[0, 0, 10, 10], [10, 0, 20, 10], [5, 5, 15, 15]], dtype=float)
    kept = non_max_suppression(boxes, np.array([0.9, 0.8, 0.7]), None, 0.0, class_agnostic=True)
    assert kept.tolist() == [0, 1]


def test_chains_resolve_like_greedy_nms() -> None:
    # a suppresses b; b would have suppressed c, but b is gone, so c stays
    boxes = np.array([[0, 0, 10, 10], [4, 0, 14, 10], [8, 0, 18, 10]], dtype=float)
    kept = non_max_suppression(boxes, np.array([0.9, 0.8, 0.7]), None, 0.3, class_agnostic=True)
    assert kept.tolist() == [0, 2]


def test_empty_and_bad_ratio() -> None:
    assert non_max_suppression(np.empty((0, 4)), np.empty(0), None, 0.5).tolist() == []
    with pytest.raises(EngineInputError, match="between 0 and 1"):
        non_max_suppression(np.zeros((1, 4)), np.zeros(1), None, 1.5)


def test_large_input_is_fast() -> None:
    # 200k boxes spread over a scene: only neighbours are compared
    boxes = random_boxes(200_000, 7, extent=100_000.0, size=30.0)
    scores = np.random.default_rng(1).uniform(0, 1, len(boxes))
    kept = non_max_suppression(boxes, scores, None, 0.1, class_agnostic=True)
    assert 0 < len(kept) <= len(boxes)


def write_part(path: Path, boxes: list[list[float]], scores: list[float], classes: list[int]) -> Path:
    with path.open("w") as fh:
        for b, s, c in zip(boxes, scores, classes):
            feat = {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [0, 0]},
                "properties": {"class_value": c, "class_name": str(c), "confidence": s},
                "geometry_native": {"type": "Point", "coordinates": [b[0], b[1]]},
                "bbox_native": b,
            }
            fh.write(json.dumps(feat) + "\n")
    return path


def test_merge_parts_streams_and_suppresses_across_files(tmp_path: Path) -> None:
    a = write_part(tmp_path / "a.ndjson", [[0, 0, 10, 10], [50, 50, 60, 60]], [0.9, 0.8], [1, 1])
    b = write_part(tmp_path / "b.ndjson", [[1, 0, 11, 10], [100, 0, 110, 10]], [0.55, 0.7], [1, 2])
    out = tmp_path / "merged.ndjson"
    result = merge_detection_parts([a, b], True, 0.1, False, out)
    assert (result.features_in, result.features_out) == (4, 3)
    kept = [json.loads(line)["bbox_native"] for line in out.read_text().splitlines()]
    assert kept == [[0, 0, 10, 10], [50, 50, 60, 60], [100, 0, 110, 10]]
    plain = merge_detection_parts([a, b], False, 0.1, False, out)
    assert plain.features_out == 4


def test_merge_missing_part_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EngineInputError, match="did not finish"):
        merge_detection_parts([tmp_path / "nope.ndjson"], True, 0.1, False, tmp_path / "out.ndjson")


def test_nms_fields_are_read_without_the_geometries() -> None:
    from backend.engine.inference.features import DetectedFeature, read_nms_fields

    tricky = 'Roof ,"geometry": {"x"} \\ é'
    feature = DetectedFeature('{"type":"Point","coordinates":[1.5,2.5]}', '{"type":"Point","coordinates":[3,4]}',
                              (1.0, 2.0, 3.25, 4.0), 7, tricky, 0.125)
    line = feature.to_json_line()
    parsed = json.loads(line)
    assert parsed["properties"] == {"class_value": 7, "class_name": tricky, "confidence": 0.125}
    assert parsed["geometry"] == {"type": "Point", "coordinates": [3, 4]}
    assert read_nms_fields(line) == ([1.0, 2.0, 3.25, 4.0], 0.125, 7)
    reordered = json.dumps({"geometry": None, "bbox_native": [0, 0, 1, 1], "type": "Feature",
                            "properties": {"confidence": 0.5, "class_value": 2, "class_name": "x"}})
    assert read_nms_fields(reordered) == ([0, 0, 1, 1], 0.5, 2)
