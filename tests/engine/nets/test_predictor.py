"""load_predictor: our packages and arcgis.learn-shaped ones, all four families."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torchvision.models.detection import maskrcnn_resnet50_fpn

from backend.engine.dlpk.emd import parse_emd
from backend.engine.errors import EngineInputError
from backend.engine.nets import build_model
from backend.engine.nets.normalization import scaling_from_emd
from backend.engine.nets.predictor import Detections, load_predictor

DATA = Path(__file__).resolve().parents[2] / "data"
CHIP = 64


def _emd(name: str, model_type: str, classes: int, **extra: Any) -> dict[str, Any]:
    emd = {
        "Framework": "PyTorch",
        "ModelConfiguration": f"rasterlab.{name}",
        "ModelType": model_type,
        "ModelFile": "model.pth",
        "ModelName": name,
        "ImageHeight": CHIP,
        "ImageWidth": CHIP,
        "ExtractBands": [0, 1, 2],
        "Classes": [{"Value": v + 1, "Name": f"c{v + 1}", "Color": [v, 0, 0]} for v in range(classes)],
        "ModelParameters": {"backbone": "resnet18", "rasterlab_arch": name},
    }
    emd.update(extra)
    return emd


def _package(folder: Path, emd: dict[str, Any], state: dict[str, torch.Tensor]) -> Any:
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(state, folder / "model.pth")
    (folder / "model.emd").write_text(json.dumps(emd))
    return parse_emd(emd)


def _chips(batch: int = 2, bands: int = 3) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(batch, bands, CHIP, CHIP), dtype=np.uint8)


def test_legacy_unet_package_still_loads(tmp_path: Path) -> None:
    """UnetClassifier packages written before the DynamicUnet layout (told apart by their keys)."""
    from backend.engine.nets.segmentation import LegacyUnet

    model = LegacyUnet("resnet18", 3, pretrained=False)
    emd = _package(tmp_path, _emd("UnetClassifier", "ImageClassification", 2), model.state_dict())
    predictor = load_predictor(tmp_path, emd)
    assert predictor.segment(predictor.prepare(_chips())).shape == (2, 3, CHIP, CHIP)


def test_pixel_classifier_package(tmp_path: Path) -> None:
    model = build_model("UnetClassifier", "resnet18", 2, 3, CHIP)
    emd_dict = _emd("UnetClassifier", "ImageClassification", 2, Framework="arcgis.learn.models._inferencing",
                    ModelConfiguration="_unet")
    emd = _package(tmp_path, emd_dict, model.state_dict())
    predictor = load_predictor(tmp_path, emd)
    assert predictor.family == "pixel_classification"
    assert predictor.chip_size == CHIP and predictor.extract_bands == (0, 1, 2)
    assert [c.name for c in predictor.classes] == ["c1", "c2"]
    batch = predictor.prepare(_chips())
    assert batch.dtype == torch.float32 and batch.device == predictor.device
    # ImageNet normalisation for 8-bit RGB
    assert float(batch[0, 0, 0, 0]) == pytest.approx((_chips()[0, 0, 0, 0] / 255 - 0.485) / 0.229, rel=1e-5)
    probs = predictor.segment(batch)
    assert probs.shape == (2, 3, CHIP, CHIP) and probs.dtype == np.float32
    assert np.allclose(probs.sum(1), 1.0, atol=1e-4)
    with pytest.raises(EngineInputError, match="pixel_classification"):
        predictor.detect(batch, 0.5, 0.1)


def test_rasterlab_detector_package(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model("FasterRCNN", "mobilenet_v3_large", 2, 3, CHIP)
    emd_dict = _emd("FasterRCNN", "ObjectDetection", 2)
    emd_dict["ModelParameters"]["backbone"] = "mobilenet_v3_large"
    emd = _package(tmp_path, emd_dict, model.state_dict())
    predictor = load_predictor(tmp_path, emd)
    batch = predictor.prepare(_chips())
    assert float(batch.max()) <= 1.0  # detectors take 0..1 inputs
    found = predictor.detect(batch, 0.0, 0.5)
    assert len(found) == 2
    for d in found:
        assert isinstance(d, Detections) and d.masks is None
        assert d.boxes.dtype == np.float32 and d.boxes.shape == (len(d.scores), 4)
        assert d.scores.dtype == np.float32 and d.labels.dtype == np.int64
        assert set(d.labels.tolist()) <= {1, 2}
    strict = predictor.detect(batch, 0.99, 0.5)
    assert all((d.scores >= 0.99).all() for d in strict)


def test_arcgis_learn_maskrcnn_package(tmp_path: Path) -> None:
    """An arcgis.learn MaskRCNN: torchvision v1 layout saved with a frozen-BN backbone."""
    torch.manual_seed(0)
    reference = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=2)
    state = {k: v for k, v in reference.state_dict().items() if not k.endswith("num_batches_tracked")}
    emd = _package(
        tmp_path,
        {
            "Framework": "arcgis.learn.models._inferencing",
            "ModelConfiguration": "_maskrcnn_inferencing",
            "InferenceFunction": "ArcGISInstanceDetector.py",
            "ModelType": "InstanceDetection",
            "ModelFile": "model.pth",
            "ModelName": "MaskRCNN",
            "ImageHeight": CHIP,
            "ImageWidth": CHIP,
            "ExtractBands": [0, 1, 2],
            "Classes": [{"Value": 1, "Name": "1", "Color": [255, 0, 0]}],
            "ModelParameters": {"backbone": "resnet50"},
            "MaskRCNNkwargs": {},
        },
        state,
    )
    predictor = load_predictor(tmp_path, emd)
    assert predictor.family == "instance_detection"
    found = predictor.detect(predictor.prepare(_chips(1)), 0.4, 0.5)
    masks = found[0].masks
    assert masks is not None and masks.dtype == bool and masks.shape == (len(found[0].scores), CHIP, CHIP)


def test_legacy_esri_feature_classifier_package(tmp_path: Path) -> None:
    emd_text = (DATA / "esri" / "esri-rdl_FeatureClassifier_woolseyFire_600_50.emd").read_text()
    emd = parse_emd(emd_text)
    model = build_model("FeatureClassifier", "resnet34", 2, 3, 600)
    torch.save(model.state_dict(), tmp_path / "woolseyFire_600_50.pth")
    predictor = load_predictor(tmp_path, emd)
    assert predictor.family == "object_classification"
    index, confidence = predictor.classify(predictor.prepare(_chips(3)))
    assert index.dtype == np.int64 and index.shape == (3,) and set(index.tolist()) <= {0, 1}
    assert confidence.dtype == np.float32 and ((confidence >= 0.5) & (confidence <= 1)).all()


def test_multispectral_package_uses_normalization_stats_by_extract_band(tmp_path: Path) -> None:
    stats = {
        "band_min_values": [0, 10, 20, 30],
        "band_max_values": [100, 110, 120, 130],
        "band_mean_values": [50, 60, 70, 80],
        "band_std_values": [10, 10, 10, 10],
        "scaled_min_values": [0, 0, 0, 0],
        "scaled_max_values": [1, 1, 1, 1],
        "scaled_mean_values": [0.5, 0.5, 0.5, 0.4],
        "scaled_std_values": [0.1, 0.1, 0.1, 0.2],
    }
    model = build_model("FeatureClassifier", "resnet18", 2, 2, CHIP)
    emd = _package(
        tmp_path,
        _emd("FeatureClassifier", "ObjectClassification", 2, ExtractBands=[3, 1], NormalizationStats=stats),
        model.state_dict(),
    )
    scaling = scaling_from_emd(emd)
    assert scaling.band_min == (30.0, 10.0) and scaling.scaled_std == (0.2, 0.1)
    predictor = load_predictor(tmp_path, emd)
    chips = np.full((1, 2, CHIP, CHIP), 80, dtype=np.uint16)
    batch = predictor.prepare(chips)
    assert float(batch[0, 0, 0, 0]) == pytest.approx(((80 - 30) / 100 - 0.4) / 0.2)
    assert float(batch[0, 1, 0, 0]) == pytest.approx(((80 - 10) / 100 - 0.5) / 0.1)
    with pytest.raises(EngineInputError, match="2 bands"):
        predictor.prepare(np.zeros((1, 3, CHIP, CHIP), dtype=np.uint16))


def test_weights_that_do_not_fit_say_so(tmp_path: Path) -> None:
    model = build_model("UnetClassifier", "resnet18", 3, 3, CHIP)
    emd = _package(tmp_path, _emd("UnetClassifier", "ImageClassification", 2), model.state_dict())
    with pytest.raises(EngineInputError, match="do not fit a UnetClassifier with 2 classes"):
        load_predictor(tmp_path, emd)


def test_packages_we_cannot_run_are_refused(tmp_path: Path) -> None:
    emd = parse_emd((DATA / "esri" / "esri-rdl_KerasMaskRCNN_mask_rcnn.emd").read_text())
    with pytest.raises(EngineInputError, match="cannot run in Rasterlab"):
        load_predictor(tmp_path, emd)


def test_missing_weights_file(tmp_path: Path) -> None:
    emd = parse_emd(_emd("UnetClassifier", "ImageClassification", 2))
    with pytest.raises(EngineInputError, match="no weights file"):
        load_predictor(tmp_path, emd)


def test_multi_label_classifier_scores_each_class_on_its_own(tmp_path: Path) -> None:
    """MetaDataMode MultiLabeled_Tiles: a sigmoid per class (fastai's multi-label activation),
    so several classes can pass the threshold; single-label packages keep the softmax."""
    model = build_model("FeatureClassifier", "resnet18", 3, 3, CHIP)
    multi = load_predictor(tmp_path / "multi", _package(
        tmp_path / "multi", _emd("FeatureClassifier", "ObjectClassification", 3, MetaDataMode="MultiLabeled_Tiles"),
        model.state_dict()))
    single = load_predictor(tmp_path / "single", _package(
        tmp_path / "single", _emd("FeatureClassifier", "ObjectClassification", 3, MetaDataMode="Labeled_Tiles"),
        model.state_dict()))
    assert multi.multi_label and not single.multi_label
    chips = _chips()
    sig = multi.class_probabilities(multi.prepare(chips))
    soft = single.class_probabilities(single.prepare(chips))
    with torch.inference_mode():
        logits = model.eval()(single.prepare(chips)).numpy()
    assert sig == pytest.approx(1 / (1 + np.exp(-logits)), abs=1e-5)
    assert soft.sum(axis=1) == pytest.approx(np.ones(2), abs=1e-5)
    index, confidence = single.classify(single.prepare(chips))
    assert list(index) == list(soft.argmax(1)) and confidence == pytest.approx(soft.max(1))
