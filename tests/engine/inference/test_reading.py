"""Window reading, processing extent, band checks and cell-size resampling."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from shapely.geometry import box, mapping

from backend.engine.errors import EngineInputError
from backend.engine.dlpk.emd import parse_emd
from backend.engine.inference.planning import input_scale_of, plan_inference
from backend.engine.inference.reading import GridReader, extent_window, processing_grid
from backend.engine.inference.tiling import PixelWindow

from .fakes import CRS, ORIGIN_X, ORIGIN_Y, write_raster

DATA = Path(__file__).resolve().parents[2] / "data"
TO_4326 = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def extent_4326(xmin: float, ymin: float, xmax: float, ymax: float) -> dict:
    """A GeoJSON polygon in EPSG:4326 for a rectangle given in the fake raster CRS."""
    xs, ys = TO_4326.transform([xmin, xmax, xmax, xmin], [ymin, ymin, ymax, ymax])
    return {"type": "Polygon", "coordinates": [[*zip(xs, ys), (xs[0], ys[0])]]}


def test_read_zero_fills_outside_and_nodata(tmp_path: Path) -> None:
    data = np.arange(3 * 20 * 30, dtype=np.uint16).reshape(3, 20, 30) % 1000 + 1
    data[:, 5, 7] = 9999  # NoData in every band
    data[0, 6, 7] = 9999  # NoData in one band only: the pixel stays valid
    path = write_raster(tmp_path / "r.tif", data, nodata=9999)
    with rasterio.open(path) as src:
        grid = processing_grid(src)
    with GridReader(path, grid, (2, 0)) as reader:
        block, valid = reader.read(PixelWindow(-4, -3, 16, 12))
    assert block.shape == (2, 12, 16) and block.dtype == np.uint16
    assert not valid[:3].any() and not valid[:, :4].any()
    np.testing.assert_array_equal(block[:, 3:, 4:], np.where(valid[3:, 4:], data[[2, 0], :9, :12], 0))
    assert not valid[3 + 5, 4 + 7] and (block[:, 8, 11] == 0).all()
    assert valid[3 + 6, 4 + 7] and block[1, 9, 11] == 9999  # band values are kept as read


def test_band_mismatch_names_both_counts(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "gray.tif", np.zeros((1, 10, 10), np.uint8))
    with pytest.raises(EngineInputError, match=r"bands \[0, 1, 2\].*3 band\(s\).*1 band\(s\)"):
        plan_inference(path, chip_size=8, padding=2, extract_bands=(0, 1, 2))


def test_four_band_model_on_real_rgb_raster_is_rejected() -> None:
    with pytest.raises(EngineInputError, match="OSBS_029.tif has 3 band"):
        plan_inference(DATA / "OSBS_029.tif", chip_size=64, padding=16, extract_bands=(0, 1, 2, 3))


def test_extent_outside_the_raster(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "r.tif", np.zeros((3, 50, 50), np.uint8))
    far = extent_4326(ORIGIN_X + 1000, ORIGIN_Y - 2000, ORIGIN_X + 1100, ORIGIN_Y - 1900)
    with pytest.raises(EngineInputError, match="does not overlap raster r.tif"):
        plan_inference(path, chip_size=16, padding=4, extract_bands=(0, 1, 2), processing_extent=far)


def test_extent_maps_to_pixel_window_on_real_raster() -> None:
    # The bounding box of the first tree of OSBS_029 (raster CRS) -> its pixel box (xmin..ymax)
    with rasterio.open(DATA / "OSBS_029.tif") as src:
        grid = processing_grid(src)
        to4326 = Transformer.from_crs(src.crs, "EPSG:4326", always_xy=True)
    geom = box(404232.2, 3285133.9, 404234.6, 3285136.2)
    xs, ys = to4326.transform(*geom.exterior.xy)
    window = extent_window(grid, {"type": "Polygon", "coordinates": [list(zip(xs, ys))]}, "OSBS_029.tif")
    # pixel box of the tree from the dataset's own columns: 203..227 x 67..90 (0.1 m pixels)
    assert abs(window.col_off - 203) <= 1 and abs(window.row_off - 67) <= 1
    assert abs(window.col_end - 227) <= 1 and abs(window.row_end - 90) <= 1


def test_extent_is_clipped_to_the_raster(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "r.tif", np.zeros((3, 50, 40), np.uint8))
    half_out = extent_4326(ORIGIN_X + 10, ORIGIN_Y - 100, ORIGIN_X + 100, ORIGIN_Y - 20)
    plan = plan_inference(path, chip_size=16, padding=4, extract_bands=(0, 1, 2), processing_extent=half_out)
    assert plan.window == PixelWindow(10, 20, 30, 30)


def test_cell_size_grid_maps_back_to_map_coordinates(tmp_path: Path) -> None:
    data = np.zeros((1, 100, 80), np.uint8)
    data[0, 40:60, 20:40] = 200  # 20 m square, map x 500020..500040, y 3999940..3999960
    path = write_raster(tmp_path / "r.tif", data)
    with rasterio.open(path) as src:
        grid = processing_grid(src, cell_size=2.0)
    assert (grid.width, grid.height, grid.cell_size) == (40, 50, 2.0)
    with GridReader(path, grid, (0,)) as reader:
        block, valid = reader.read(grid.window)
    assert valid.all()
    rows, cols = np.nonzero(block[0] > 100)
    x0, y0 = grid.transform @ (cols.min(), rows.min())
    x1, y1 = grid.transform @ (cols.max() + 1, rows.max() + 1)
    assert (x0, y1, x1, y0) == pytest.approx((ORIGIN_X + 20, ORIGIN_Y - 60, ORIGIN_X + 40, ORIGIN_Y - 40), abs=2.0)


def test_native_cell_size_is_the_native_grid(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "r.tif", np.zeros((1, 10, 10), np.uint8), res=0.5)
    with rasterio.open(path) as src:
        assert processing_grid(src, 0.5).cell_size is None


def test_geometry_extent_helper_is_valid() -> None:
    assert mapping(box(0, 0, 1, 1))["type"] == "Polygon"


def test_a_model_trained_on_shrunk_chips_reads_the_raster_coarser(tmp_path: Path) -> None:
    """Training resized 256 px chips to 128: with no cell_size, inference reads at 2x the native
    cell size, so objects are as many pixels wide as the model learned; an explicit cell_size wins."""
    path = write_raster(tmp_path / "r.tif", np.zeros((3, 400, 300), np.uint8), res=0.5)
    resized = parse_emd('{"ImageHeight": 128, "ImageWidth": 128, "resize_to": 128, '
                        '"ModelParameters": {"rasterlab_resized_from": 256}}')
    assert input_scale_of(resized) == 2.0
    assert input_scale_of(parse_emd('{"ImageHeight": 128, "resize_to": 128}')) == 1.0  # from what, unknown
    plan = plan_inference(path, chip_size=128, padding=32, extract_bands=(0, 1, 2), input_scale=2.0)
    assert (plan.grid.width, plan.grid.height, plan.grid.cell_size) == (150, 200, 1.0)
    native = plan_inference(path, chip_size=128, padding=32, extract_bands=(0, 1, 2))
    assert (native.grid.width, native.grid.height, native.grid.cell_size) == (300, 400, None)
    chosen = plan_inference(path, chip_size=128, padding=32, extract_bands=(0, 1, 2), cell_size=0.25, input_scale=2.0)
    assert chosen.grid.cell_size == 0.25
