"""One definition of a chip's pixels: a 16-bit chip with NoData goes through export + training
data and through the inference reader + scaling, and both give the same tensor."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import torch
from pyproj import Transformer
from rasterio.transform import from_origin
from shapely.geometry import box
from shapely.ops import transform as reproject

from backend.engine.chips import ClassDef, ExportParams, LabelFeature, RasterSource
from backend.engine.chips import export_training_data, read_training_folder
from backend.engine.inference.reading import GridReader, processing_grid
from backend.engine.inference.tiling import PixelWindow
from backend.engine.nets.catalog import OBJECT_DETECTION
from backend.engine.nets.normalization import scaling_from_band_stats
from backend.engine.training.data import ChipDataset, DataSpec
from backend.engine.training.setup import folder_scaling

NODATA = 65535


def _raster(path: Path) -> Path:
    rng = np.random.default_rng(0)
    data = rng.integers(100, 4000, size=(3, 64, 64), dtype=np.uint16)
    data[:, :10, :20] = NODATA  # a NoData corner
    with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=3, dtype="uint16",
                       crs="EPSG:32617", transform=from_origin(400000, 3300000, 0.1, 0.1), nodata=NODATA) as dst:
        dst.write(data)
    return path


def test_training_and_inference_see_the_same_pixels(tmp_path: Path) -> None:
    raster = _raster(tmp_path / "img.tif")
    to_4326 = Transformer.from_crs("EPSG:32617", "EPSG:4326", always_xy=True).transform
    crown = reproject(to_4326, box(400002, 3299996, 400003, 3299997))  # pixels 20..30 x 30..40
    export_training_data([RasterSource(raster, 1)], [LabelFeature(1, crown, 1)], [ClassDef(1, "Tree", (0, 160, 0))],
                         ExportParams("PASCAL_VOC_rectangles", 64, 64, 64, 64), tmp_path / "export")
    folder = read_training_folder(tmp_path / "export")
    assert len(folder.samples) == 1 and not folder.is_8bit_rgb
    scaling = folder_scaling(folder)
    spec = DataSpec(OBJECT_DETECTION, folder.metadata_format, tuple(folder.classes), scaling, 64, True)
    trained_on, _ = ChipDataset(list(folder.samples), spec, augment=False, seed=0)[0]

    with rasterio.open(raster) as src:
        grid = processing_grid(src)
    with GridReader(raster, grid, (0, 1, 2)) as reader:
        data, valid = reader.read(PixelWindow(0, 0, 64, 64))
    predicted_on = scaling.unit(torch.from_numpy(data[None].astype(np.float32)))[0]

    assert torch.allclose(trained_on, predicted_on, atol=1e-6)
    assert not valid[:10, :20].any() and float(trained_on[:, :10, :20].abs().max()) == 0.0
    assert 0.0 <= float(trained_on.min()) and float(trained_on.max()) <= 1.0


def test_values_outside_the_statistics_stay_in_range() -> None:
    scaling = scaling_from_band_stats([100.0], [4000.0], [2000.0], [500.0], False)
    raw = torch.tensor([[[[-9999.0, 0.0, 100.0, 4000.0, 65535.0]]]])
    assert scaling.unit(raw).flatten().tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    assert float(scaling.normalized(raw).abs().max()) < 10
