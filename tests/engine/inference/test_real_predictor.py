"""The engine runs the real nets.predictor (random weights, CPU) end to end on OSBS_029.tif."""
from __future__ import annotations

from pathlib import Path

import pytest
import rasterio
import torch

from backend.engine.inference.classify_pixels import ClassifyPixelsArgs
from backend.engine.inference.detect import DetectArgs
from backend.engine.inference.features import read_features
from backend.engine.inference.run import classify_pixels, detect_objects

pytestmark = pytest.mark.slow
DATA = Path(__file__).resolve().parents[2] / "data"
torch.set_num_threads(1)


def predictor(name: str, backbone: str):  # type: ignore[no-untyped-def]
    nets = pytest.importorskip("backend.engine.nets.predictor")
    from backend.engine.dlpk.emd_types import EmdClass
    from backend.engine.nets.build import build_model
    from backend.engine.nets.catalog import arch_spec
    from backend.engine.nets.normalization import InputScaling

    torch.manual_seed(0)
    model = build_model(name, backbone, 1, 3, 64, pretrained_backbone=False).eval()
    return nets.TorchPredictor(
        model, arch_spec(name), InputScaling(), 64, (0, 1, 2), (EmdClass(1, "Tree", (0, 200, 0)),),
        torch.device("cpu"),
    )


def quarter_extent() -> dict:
    """The 128 x 128 px top-left corner of OSBS_029 (0.1 m pixels) as EPSG:4326 GeoJSON."""
    from pyproj import Transformer

    with rasterio.open(DATA / "OSBS_029.tif") as src:
        x0, y1 = src.transform @ (0, 0)
        x1, y0 = src.transform @ (128, 128)
        to4326 = Transformer.from_crs(src.crs, "EPSG:4326", always_xy=True)
    xs, ys = to4326.transform([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0])
    return {"type": "Polygon", "coordinates": [list(zip(xs, ys))]}


def test_real_detector(tmp_path: Path) -> None:
    out = tmp_path / "trees.ndjson"
    args = DetectArgs(padding=16, batch_size=9, threshold=0.0)
    result = detect_objects(DATA / "OSBS_029.tif", predictor("SingleShotDetector", "mobilenet_v3_large"),
                            args, out, run_nms=True, max_overlap_ratio=0.3,
                            processing_extent=quarter_extent())
    features = list(read_features(out))
    assert result.features_out == len(features) > 0
    assert {f["properties"]["class_name"] for f in features} == {"Tree"}
    assert all(0.0 <= f["properties"]["confidence"] <= 1.0 for f in features)
    lon, lat = features[0]["geometry"]["coordinates"][0][0]
    assert -82.0 < lon < -81.98 and 29.69 < lat < 29.70  # OSBS_029 lies here


def test_real_segmenter(tmp_path: Path) -> None:
    out = tmp_path / "classes.tif"
    classify_pixels(DATA / "OSBS_029.tif", predictor("UnetClassifier", "resnet18"),
                    ClassifyPixelsArgs(padding=16, batch_size=16), out, processing_extent=quarter_extent())
    with rasterio.open(out) as src, rasterio.open(DATA / "OSBS_029.tif") as ref:
        assert (src.width, src.height) == (128, 128)
        assert src.transform.almost_equals(ref.transform)
        assert set(map(int, src.read(1).ravel())) <= {0, 1}
