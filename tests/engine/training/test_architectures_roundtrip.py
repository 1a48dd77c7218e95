"""The architectures the other training tests do not take through train(): one epoch on real
chips, a package written, loaded back with load_predictor, and a prediction of the right shape.
(FasterRCNN mobilenet, MaskRCNN, UnetClassifier and FeatureClassifier: tests/engine/training/test_train.py.)"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio

from backend.engine.dlpk.package import extract_dlpk
from backend.engine.dlpk.families import model_family
from backend.engine.nets.predictor import load_predictor
from backend.engine.training import TrainConfig, train

DATA = Path(__file__).resolve().parents[2] / "data"


def _chips(bands: int) -> np.ndarray:
    with rasterio.open(DATA / "OSBS_029.tif") as src:
        data = src.read(window=((0, 64), (0, 64)))
    if bands == 4:
        data = np.concatenate([data, data.mean(0, keepdims=True).astype(data.dtype)])
    return np.repeat(data[None], 2, axis=0)


@pytest.mark.parametrize(("model_type", "backbone", "export", "bands"), [
    ("FasterRCNN", "resnet50", "voc64", 3),
    ("RetinaNet", "resnet50", "voc64", 3),
    ("SingleShotDetector", "mobilenet_v3_large", "voc64", 3),
    ("DeepLab", "resnet50", "tiles64_4band", 4),
])
def test_trains_packages_and_predicts(model_type: str, backbone: str, export: str, bands: int,
                                      exports: Any, tmp_path: Path) -> None:
    config = TrainConfig(model_type=model_type, backbone=backbone, out_name="m", max_epochs=1,
                         batch_size=2, learning_rate=1e-4, validation_percentage=25)
    result = train(config, exports(export), tmp_path / "out")
    assert result.epochs_run == 1 and np.isfinite(result.history[0].train_loss)
    info = extract_dlpk(result.package_path, tmp_path / "extracted")
    # ModelExtension packages (RetinaNet, SSD, DeepLab) name their architecture through the configuration.
    assert model_family(info.emd).architecture == model_type and info.emd.extract_bands == tuple(range(bands))
    assert model_family(info.emd).runnable
    predictor = load_predictor(tmp_path / "extracted", info.emd)
    batch = predictor.prepare(_chips(bands))
    if model_type == "DeepLab":
        assert predictor.segment(batch).shape == (2, 2, 64, 64)  # NoData + Tree
    else:
        found = predictor.detect(batch, 0.0, 0.5)
        assert len(found) == 2 and all(d.boxes.shape[1] == 4 for d in found)
