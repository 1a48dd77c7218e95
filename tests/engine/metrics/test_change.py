"""Acquisition dates from GeoTIFF tags, per-class areas, change matrix, detection matching (issue 17)."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from backend.engine.metrics.change import change_matrix, class_areas, match_detections
from backend.engine.raster.dates import acquisition_date, parse_date


def _tif(path: Path, data: np.ndarray, *, crs: str = "EPSG:32618", res: float = 2.0,
         origin: tuple[float, float] = (500000, 4500000), tags: dict[str, str] | None = None,
         nodata: float | None = 0) -> Path:
    profile = {"driver": "GTiff", "width": data.shape[1], "height": data.shape[0], "count": 1,
               "dtype": str(data.dtype), "crs": crs, "transform": from_origin(*origin, res, res), "nodata": nodata}
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data, 1)
        if tags:
            ds.update_tags(**tags)
    return path


@pytest.mark.parametrize("text, expected", [
    ("2021:06:03 10:20:00", datetime(2021, 6, 3, 10, 20, tzinfo=timezone.utc)),
    ("2021-06-03T10:20:05Z", datetime(2021, 6, 3, 10, 20, 5, tzinfo=timezone.utc)),
    ("20210603", datetime(2021, 6, 3, tzinfo=timezone.utc)),
    ("no date here", None), ("2021:13:40 00:00:00", None), ("", None),
])
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected


def test_acquisition_date_prefers_acquisition_tags_over_tiff_datetime(tmp_path: Path) -> None:
    data = np.ones((4, 4), np.uint8)
    both = _tif(tmp_path / "a.tif", data, tags={"TIFFTAG_DATETIME": "2020:01:01 00:00:00",
                                                "ACQUISITION_DATE": "2019-07-14"})
    assert acquisition_date(both) == datetime(2019, 7, 14, tzinfo=timezone.utc)
    only_tiff = _tif(tmp_path / "b.tif", data, tags={"TIFFTAG_DATETIME": "2020:01:02 03:04:05"})
    assert acquisition_date(only_tiff) == datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert acquisition_date(_tif(tmp_path / "c.tif", data)) is None


def test_class_areas_in_square_metres(tmp_path: Path) -> None:
    data = np.array([[1, 1, 2, 0], [1, 2, 2, 0]], np.uint8)  # 0 is NoData
    areas = class_areas(_tif(tmp_path / "c.tif", data, res=2.0))
    assert areas.pixels == {1: 3, 2: 3}
    assert areas.areas_m2 == {1: 12.0, 2: 12.0}


def test_class_areas_geographic_rows_shrink_with_latitude(tmp_path: Path) -> None:
    data = np.ones((2, 2), np.uint8)
    areas = class_areas(_tif(tmp_path / "g.tif", data, crs="EPSG:4326", res=0.001, origin=(10.0, 60.001)))
    expected = 4 * (0.001 * 111_319.49) ** 2 * np.cos(np.radians(60.0))
    assert areas.areas_m2[1] == pytest.approx(expected, rel=1e-3)


def test_change_matrix_across_resolutions(tmp_path: Path) -> None:
    before = _tif(tmp_path / "before.tif", np.array([[1, 1], [2, 2]], np.uint8), res=4.0)
    # The same 8 m square at 2 m: the top half went from 1 to 2, the bottom stayed 2.
    after = _tif(tmp_path / "after.tif", np.full((4, 4), 2, np.uint8), res=2.0)
    matrix = change_matrix(before, after, [1, 2])
    assert matrix.class_values == (1, 2)
    assert matrix.pixels.tolist() == [[0, 8], [0, 8]]
    assert matrix.areas_m2.tolist() == [[0.0, 32.0], [0.0, 32.0]]


def _box(x: float, y: float, size: float = 1.0) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


def test_match_detections_one_to_one_best_iou_first() -> None:
    before = [("a", _box(0, 0)), ("b", _box(5, 5)), ("c", _box(10, 10))]
    after = [("x", _box(0.1, 0)), ("y", _box(0.5, 0)), ("z", _box(20, 20))]
    change = match_detections(before, after, min_iou=0.3)
    assert [(a, b) for a, b, _ in change.persisted] == [("a", "x")]
    assert change.disappeared == ["b", "c"]
    assert change.appeared == ["y", "z"]
    assert match_detections([], after).appeared == ["x", "y", "z"]
