"""Detect Objects: chip-merge rules across seams, parts vs one run, instances, cancel, GPU memory."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from pyproj import Transformer
from shapely.geometry import box, shape

from backend.engine.errors import Cancelled, EngineInputError
from backend.engine.inference.detect import DetectArgs, detect_objects_part
from backend.engine.inference.features import read_features
from backend.engine.inference.nms import merge_detection_parts
from backend.engine.inference.planning import plan_inference
from backend.engine.inference.run import detect_objects

from .fakes import CRS, ORIGIN_X, ORIGIN_Y, FakeClass, FakePredictor, squares_image, write_raster

torch.set_num_threads(1)

# chip 64, padding 16 -> inner 32: chip centres start at multiples of 32
ARGS = DetectArgs(padding=16, batch_size=4, threshold=0.5, exclude_pad_detections=True)


def native_box(feature: dict) -> tuple[float, ...]:
    return tuple(round(v, 6) for v in shape(feature["geometry_native"]).bounds)


def expected_box(r0: int, c0: int, r1: int, c1: int, res: float = 1.0) -> tuple[float, ...]:
    return (ORIGIN_X + c0 * res, ORIGIN_Y - r1 * res, ORIGIN_X + c1 * res, ORIGIN_Y - r0 * res)


@pytest.fixture
def seam_raster(tmp_path: Path) -> tuple[Path, list[tuple[int, int, int, int]]]:
    squares = [
        (40, 59, 50, 69),  # centred on the column seam at x = 64, overlapping chip row padding
        (91, 91, 101, 101),  # centred on the seam corner (96, 96): four chips see it
        (10, 150, 20, 160),  # inside one centre region
        (120, 200, 130, 220),  # rectangle crossing x = 192 and y = 128
    ]
    return write_raster(tmp_path / "seams.tif", squares_image(256, 256, squares)), squares


def test_object_on_chip_seam_found_once_after_merge(tmp_path: Path, seam_raster) -> None:
    path, squares = seam_raster
    out = tmp_path / "out.ndjson"
    result = detect_objects(path, FakePredictor(), ARGS, out, run_nms=True, max_overlap_ratio=0.0)
    features = list(read_features(out))
    assert result.features_in > len(squares)  # neighbouring chips saw them too (demoted)
    assert sorted(native_box(f) for f in features) == sorted(expected_box(*s) for s in squares)
    assert all(f["properties"]["confidence"] == pytest.approx(0.9) for f in features)  # centre copies won
    assert {f["properties"]["class_name"] for f in features} == {"Tree"}
    # EPSG:4326 geometry is the same box
    to4326 = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    f = features[0]
    x0, y0, x1, y1 = shape(f["geometry_native"]).bounds
    lon0, lat0 = to4326.transform(x0, y0)
    assert shape(f["geometry"]).bounds[:2] == pytest.approx((lon0, lat0), abs=1e-9)


def test_without_nms_padding_copies_stay_demoted(tmp_path: Path, seam_raster) -> None:
    path, squares = seam_raster
    out = tmp_path / "out.ndjson"
    detect_objects(path, FakePredictor(score=0.9), ARGS, out, run_nms=False)
    features = list(read_features(out))
    full = [f for f in features if f["properties"]["confidence"] == pytest.approx(0.9)]
    demoted = [f for f in features if f["properties"]["confidence"] == pytest.approx(0.5 + 0.009)]
    assert len(full) == len(squares) and len(full) + len(demoted) == len(features)
    # the copy of the first square seen by the chip to its left lies in that chip's padding band
    assert expected_box(*squares[0]) in {native_box(f) for f in demoted}


def test_exclude_pad_detections_drops_truncated_boxes(tmp_path: Path, seam_raster) -> None:
    path, _ = seam_raster
    kept, dropped = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    detect_objects(path, FakePredictor(), ARGS, kept, run_nms=False)
    loose = DetectArgs(padding=16, batch_size=4, threshold=0.5, exclude_pad_detections=False)
    detect_objects(path, FakePredictor(), loose, dropped, run_nms=False)
    with_truncated = list(read_features(dropped))
    without = list(read_features(kept))
    assert len(with_truncated) > len(without)
    # a truncated copy (shorter than the 10 px square) exists only when not excluded
    small = [f for f in with_truncated if min(np.diff(np.reshape(native_box(f), (2, 2)), axis=0)[0]) < 10]
    assert small and not [f for f in without if min(np.diff(np.reshape(native_box(f), (2, 2)), axis=0)[0]) < 10]


def test_object_at_raster_edge_is_kept_with_no_padding(tmp_path: Path) -> None:
    # padding 0: chips end exactly at the raster edge; an object touching it must survive
    path = write_raster(tmp_path / "edge.tif", squares_image(64, 64, [(0, 20, 10, 30), (20, 54, 30, 64)]))
    out = tmp_path / "out.ndjson"
    args = DetectArgs(padding=0, batch_size=4, threshold=0.5, exclude_pad_detections=True)
    detect_objects(path, FakePredictor(chip_size=32), args, out)
    assert sorted(native_box(f) for f in read_features(out)) == sorted(
        [expected_box(0, 20, 10, 30), expected_box(20, 54, 30, 64)]
    )


def test_parts_run_separately_then_merged_equal_one_run(tmp_path: Path, seam_raster) -> None:
    path, _ = seam_raster
    predictor = FakePredictor()
    one = tmp_path / "one.ndjson"
    detect_objects(path, predictor, ARGS, one, run_nms=True, part_size=10_000)
    plan = plan_inference(path, chip_size=64, padding=16, extract_bands=(0, 1, 2), part_size=64)
    assert len(plan.parts) == 16
    files = []
    for part in reversed(plan.parts):  # any order, any worker
        files.append(tmp_path / f"part{part.index}.ndjson")
        detect_objects_part(path, part, FakePredictor(), ARGS, files[-1])
    merged = tmp_path / "merged.ndjson"
    merge_detection_parts(sorted(files), True, 0.0, False, merged)
    assert sorted(merged.read_text().splitlines()) == sorted(one.read_text().splitlines())


def test_instances_kept_by_the_chip_holding_their_centroid(tmp_path: Path) -> None:
    # an L-shaped object straddling the seam at x = 64; its centroid lies right of the seam
    img = squares_image(128, 128, [(40, 58, 50, 72), (50, 66, 56, 72)])
    path = write_raster(tmp_path / "inst.tif", img)
    out = tmp_path / "out.ndjson"
    predictor = FakePredictor(family="instance_detection")
    detect_objects(path, predictor, DetectArgs(padding=16, batch_size=9, threshold=0.9), out, run_nms=False)
    features = list(read_features(out))
    assert len(features) == 1  # no NMS needed: exactly one chip owns it
    poly = shape(features[0]["geometry_native"])
    expected = box(*expected_box(40, 58, 50, 72)).union(box(*expected_box(50, 66, 56, 72)))
    assert poly.symmetric_difference(expected).area == pytest.approx(0.0)
    # with return_bboxes the owner chip's box is returned instead
    detect_objects(
        path, predictor, DetectArgs(padding=16, threshold=0.9, return_bboxes=True), out, run_nms=False
    )
    (f,) = list(read_features(out))
    assert native_box(f) == expected_box(40, 58, 56, 72)


def test_class_values_come_from_the_class_table(tmp_path: Path) -> None:
    img = squares_image(64, 64, [(10, 10, 20, 20), (30, 30, 40, 40)])
    img[1, 30:40, 30:40] = 200  # band 1 bright too -> fake label 2
    path = write_raster(tmp_path / "two.tif", img)
    classes = (FakeClass(3, "Alive"), FakeClass(7, "Dead"))
    out = tmp_path / "out.ndjson"
    detect_objects(path, FakePredictor(classes=classes), ARGS, out, run_nms=True)
    got = sorted((native_box(f), f["properties"]["class_value"], f["properties"]["class_name"]) for f in read_features(out))
    assert got == sorted([(expected_box(10, 10, 20, 20), 3, "Alive"), (expected_box(30, 30, 40, 40), 7, "Dead")])


def test_cell_size_detections_map_back_to_map_coordinates(tmp_path: Path) -> None:
    img = squares_image(200, 200, [(40, 60, 60, 80)])  # 20 x 20 m at 1 m
    path = write_raster(tmp_path / "fine.tif", img)
    out = tmp_path / "out.ndjson"
    detect_objects(path, FakePredictor(chip_size=32), DetectArgs(padding=8), out, cell_size=2.0, run_nms=True)
    (f,) = list(read_features(out))
    assert native_box(f) == pytest.approx(expected_box(40, 60, 60, 80), abs=2.0)


def test_cancel_raises_and_leaves_no_part_file(tmp_path: Path, seam_raster) -> None:
    path, _ = seam_raster
    (part,) = plan_inference(path, chip_size=64, padding=16, extract_bands=(0, 1, 2)).parts
    calls = iter(range(100))
    out = tmp_path / "part.ndjson"
    with pytest.raises(Cancelled):
        detect_objects_part(path, part, FakePredictor(), ARGS, out, should_stop=lambda: next(calls) >= 2)
    assert list(tmp_path.iterdir()) == [path]


def test_out_of_gpu_memory_says_lower_batch_size(tmp_path: Path, seam_raster) -> None:
    path, _ = seam_raster
    (part,) = plan_inference(path, chip_size=64, padding=16, extract_bands=(0, 1, 2)).parts
    out = tmp_path / "part.ndjson"
    with pytest.raises(EngineInputError, match=r"out of GPU memory: lower batch_size \(now 4\)"):
        detect_objects_part(path, part, FakePredictor(raise_oom=True), ARGS, out)
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


def test_batches_hold_batch_size_chips_and_progress_reaches_total(tmp_path: Path, seam_raster) -> None:
    path, _ = seam_raster
    (part,) = plan_inference(path, chip_size=64, padding=16, extract_bands=(0, 1, 2)).parts
    predictor, seen = FakePredictor(), []
    args = DetectArgs(padding=16, batch_size=5)
    result = detect_objects_part(path, part, predictor, args, lambda f: None, progress=lambda d, t, m: seen.append((d, t)))
    assert result.chips == 64 and predictor.batches == [5] * 12 + [4]
    assert seen[-1] == (64, 64) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_empty_chips_are_not_run(tmp_path: Path) -> None:
    img = squares_image(128, 128, [(10, 10, 20, 20)])
    img[:, :, 64:] = 0
    path = write_raster(tmp_path / "half.tif", img, nodata=0)
    (part,) = plan_inference(path, chip_size=64, padding=16, extract_bands=(0, 1, 2)).parts
    result = detect_objects_part(path, part, FakePredictor(), ARGS, lambda f: None)
    assert (result.chips, result.skipped, result.count) == (8, 8, 1)


def test_wrong_model_family_is_rejected(tmp_path: Path, seam_raster) -> None:
    path, _ = seam_raster
    (part,) = plan_inference(path, chip_size=64, padding=16, extract_bands=(0, 1, 2)).parts
    with pytest.raises(EngineInputError, match="pixel classification model"):
        detect_objects_part(path, part, FakePredictor(family="pixel_classification"), ARGS, lambda f: None)


def test_features_are_geojson_lines(tmp_path: Path, seam_raster) -> None:
    path, _ = seam_raster
    out = tmp_path / "out.ndjson"
    detect_objects(path, FakePredictor(), ARGS, out, run_nms=True)
    line = json.loads(out.read_text().splitlines()[0])
    assert line["type"] == "Feature" and line["geometry"]["type"] == "Polygon"
    assert set(line["properties"]) == {"class_value", "class_name", "confidence"}
    assert len(line["bbox_native"]) == 4


class FixedBoxPredictor(FakePredictor):
    """Returns one box at chip pixels (5, 5)-(40, 40) in every chip."""

    def detect(self, batch: torch.Tensor, threshold: float, nms_overlap: float) -> list:
        from .fakes import FakeDetections

        one = FakeDetections(np.array([[5, 5, 40, 40]], np.float32), np.array([0.7], np.float32),
                             np.array([1]), None)
        return [one] * len(batch)


def test_boxes_are_clipped_to_the_raster(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "r.tif", squares_image(64, 64, []))
    out = tmp_path / "out.ndjson"
    detect_objects(path, FixedBoxPredictor(), DetectArgs(padding=16, exclude_pad_detections=False), out)
    boxes = sorted(native_box(f) for f in read_features(out))
    # chip (0, 0) starts at (-16, -16): its box is (-11, -11)-(24, 24), clipped at the raster corner
    assert expected_box(0, 0, 24, 24) in boxes
    assert all(b[0] >= ORIGIN_X and b[3] <= ORIGIN_Y for b in boxes)
