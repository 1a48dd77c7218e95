"""Pixel accuracy: confusion matrix, user's/producer's accuracy, kappa and IoU against polygons
(burnt window by window) and against a reference raster on another grid."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from backend.engine.metrics.pixel_accuracy import accuracy_from_confusion, kappa, pixel_accuracy

X0, Y0, CELL = -82.0, 29.7, 0.0001  # EPSG:4326 grid: pixel (row, col) covers x0 + col*cell ...


def _write(path: Path, data: np.ndarray, cell: float = CELL, nodata: int | None = 0) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype=data.dtype, crs="EPSG:4326", transform=from_origin(X0, Y0, cell, cell),
                       nodata=nodata) as dst:
        dst.write(data, 1)
    return path


def _rect(col0: int, row0: int, col1: int, row1: int) -> dict:
    """Pixel-aligned polygon over columns [col0, col1) and rows [row0, row1)."""
    w, e = X0 + col0 * CELL, X0 + col1 * CELL
    n, s = Y0 - row0 * CELL, Y0 - row1 * CELL
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


@pytest.fixture
def classified(tmp_path: Path) -> Path:
    data = np.full((100, 100), 1, dtype=np.uint8)
    data[:, 50:] = 2  # left half class 1, right half class 2
    data[:10, :10] = 0  # NoData corner
    return _write(tmp_path / "classified.tif", data)


def test_polygons_give_the_confusion_matrix_and_scores(classified: Path) -> None:
    # Reference: class 1 over columns 0-59 of rows 0-19 (10 pixels wide wrongly predicted 2), class 2
    # over columns 50-99 of rows 50-59. Small windows make the polygons span several.
    truth = [(_rect(0, 0, 60, 20), 1), (_rect(50, 50, 100, 60), 2)]
    result = pixel_accuracy(classified, truth=truth, class_values=[1, 2, 3], window=32)
    assert result.class_values == (1, 2, 3)
    # class 1 reference: 60*20 - 100 NoData = 1100 pixels: 900 predicted 1, 200 predicted 2.
    assert result.confusion.tolist() == [[900, 200, 0], [0, 500, 0], [0, 0, 0]]
    assert result.pixels == 1600
    assert result.overall_accuracy == pytest.approx(1400 / 1600)
    one, two, three = result.per_class
    assert one.producers_accuracy == pytest.approx(900 / 1100) and one.users_accuracy == 1.0
    assert two.users_accuracy == pytest.approx(500 / 700) and two.producers_accuracy == 1.0
    assert two.iou == pytest.approx(500 / 700) and three.users_accuracy is None
    expected = (1400 / 1600 - (1100 * 900 + 500 * 700) / 1600**2) / (1 - (1100 * 900 + 500 * 700) / 1600**2)
    assert result.kappa == pytest.approx(expected)


def test_extent_limits_the_scored_pixels(classified: Path) -> None:
    truth = [(_rect(0, 0, 60, 20), 1)]
    result = pixel_accuracy(classified, truth=truth, extent=_rect(50, 0, 60, 20))
    assert result.confusion.tolist() == [[0, 200], [0, 0]] and result.class_values == (1, 2)


def test_reference_raster_on_another_grid(classified: Path, tmp_path: Path) -> None:
    # Reference at twice the cell size: all class 2 except NoData in the left half's top rows.
    ref = np.full((50, 50), 2, dtype=np.uint8)
    ref[:5, :25] = 255
    reference = _write(tmp_path / "reference.tif", ref, cell=2 * CELL, nodata=255)
    result = pixel_accuracy(classified, reference=reference)
    # Scored: every classified pixel but its NoData corner and the reference's NoData (rows 0-9,
    # cols 0-49): 10000 - 500 = 9500; of those, class 1 predicted on 4000 (cols 0-49, rows 10-99).
    assert result.class_values == (1, 2)
    assert result.confusion.tolist() == [[0, 0], [4500, 5000]]
    assert result.overall_accuracy == pytest.approx(5000 / 9500)


def test_kappa_of_perfect_and_chance_agreement() -> None:
    assert kappa(np.array([[5, 0], [0, 5]])) == 1.0
    assert kappa(np.array([[25, 25], [25, 25]])) == pytest.approx(0.0)
    assert kappa(np.zeros((2, 2), dtype=np.int64)) is None
    report = accuracy_from_confusion(np.array([[3, 1], [0, 4]]), [10, 20])
    assert report.per_class[0].class_value == 10 and report.overall_accuracy == pytest.approx(7 / 8)


def test_ground_truth_off_the_raster_scores_nothing(classified: Path) -> None:
    far = _rect(500, 500, 520, 520)
    result = pixel_accuracy(classified, truth=[(far, 1)], class_values=[1, 2])
    assert result.pixels == 0 and result.overall_accuracy is None and result.notes
    beside = pixel_accuracy(classified, truth=[(_rect(0, 0, 60, 20), 1)], extent=far)
    assert beside.pixels == 0
