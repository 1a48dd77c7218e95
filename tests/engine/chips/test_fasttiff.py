"""Template-written GeoTIFF chips are byte for byte what GDAL writes; exports are reproducible."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS

import backend.engine.chips.export as export_module
from backend.engine.chips.fasttiff import TiffTemplates, parse_template, write_geotiff
from tests.engine.chips.helpers import SOAP, SOAP_CLASSES, export, soap_features

WKT = CRS.from_epsg(32617).to_wkt()


@pytest.mark.parametrize(("dtype", "bands", "nodata"), [
    ("uint8", 3, None), ("uint16", 4, 65535.0), ("int16", 2, -9999.0),
    ("float32", 1, float("nan")),
])
def test_template_chips_equal_gdal_chips(tmp_path: Path, dtype: str, bands: int,
                                         nodata: float | None) -> None:
    templates = TiffTemplates(WKT, nodata)
    rng = np.random.default_rng(1)
    for i in range(3):
        data = (rng.random((bands, 48, 72)) * 250).astype(dtype)
        transform = Affine(0.1, 0, 400000 + 7.2 * i, 0, -0.1, 3000000 - 4.8 * i)
        templates.write(tmp_path / f"fast{i}.tif", data, transform)
        write_geotiff(tmp_path / f"gdal{i}.tif", data, transform, WKT, nodata, compress=None)
        assert (tmp_path / f"fast{i}.tif").read_bytes() == (tmp_path / f"gdal{i}.tif").read_bytes()
        with rasterio.open(tmp_path / f"fast{i}.tif") as chip:
            assert np.array_equal(chip.read(), data, equal_nan=True)
            assert chip.transform == transform


def test_unusual_layouts_are_not_templated(tmp_path: Path) -> None:
    data = np.ones((1, 16, 16), np.uint8)
    transform = Affine(1, 0, 0, 0, -1, 16)
    write_geotiff(tmp_path / "packed.tif", data, transform, WKT, None, compress="deflate")
    assert parse_template((tmp_path / "packed.tif").read_bytes(), data, transform) is None
    assert parse_template(b"MM\x00*", data, transform) is None
    rotated = transform @ Affine.rotation(30)
    TiffTemplates(WKT, None).write(tmp_path / "turned.tif", data, rotated)
    with rasterio.open(tmp_path / "turned.tif") as chip:
        assert chip.transform.almost_equals(rotated)


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt", ["COCO", "RCNN_Masks"])
def test_threaded_and_inline_exports_are_identical(tmp_path: Path, fmt: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    common = dict(rasters=[SOAP], labels=soap_features(), classes=SOAP_CLASSES,
                  tile_size_x=128, tile_size_y=128, stride_x=64, stride_y=64)
    monkeypatch.setattr(export_module, "WRITE_THREADS", 3)
    export(tmp_path / "threads", fmt, **common)  # type: ignore[arg-type]
    monkeypatch.setattr(export_module, "WRITE_THREADS", 1)
    export(tmp_path / "inline", fmt, **common)  # type: ignore[arg-type]
    assert _digest(tmp_path / "threads") == _digest(tmp_path / "inline")
