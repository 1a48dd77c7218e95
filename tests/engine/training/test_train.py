"""train(): packages that load back, early stopping, cancellation, chip resizing."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import torch

from backend.engine.dlpk.emd import parse_emd
from backend.engine.dlpk.families import model_family
from backend.engine.dlpk.package import extract_dlpk
from backend.engine.errors import Cancelled, EngineInputError
from backend.engine.metrics import TrueObjects, detection_scores
from backend.engine.nets import build_model
from backend.engine.nets.normalization import IMAGENET
from backend.engine.nets.predictor import Detections, load_predictor
from backend.engine.inference.planning import input_scale_of
from backend.engine.training import EpochReport, TrainConfig, train
from backend.engine.training import loop as loop_module
from backend.engine.training.data import ChipDataset, DataSpec
from backend.engine.training.tasks import Evaluation

DATA = Path(__file__).resolve().parents[2] / "data"


def _chips(size: int, bands: int = 3, count: int = 2) -> np.ndarray:
    with rasterio.open(DATA / "OSBS_029.tif") as src:
        data = src.read(window=((0, size), (0, size)))
    if bands == 4:
        data = np.concatenate([data, data.mean(0, keepdims=True).astype(data.dtype)])
    return np.repeat(data[None], count, axis=0)


def _load(result: Any, tmp_path: Path) -> Any:
    info = extract_dlpk(result.package_path, tmp_path / "extracted")
    return info.emd, load_predictor(tmp_path / "extracted", info.emd)


def test_detector_one_epoch_writes_a_package_that_predicts(exports: Any, tmp_path: Path) -> None:
    reports: list[EpochReport] = []
    messages: list[tuple[int, int, str]] = []
    config = TrainConfig(
        model_type="FasterRCNN", backbone="mobilenet_v3_large", out_name="trees", max_epochs=1,
        batch_size=2, learning_rate=1e-3, validation_percentage=25,
    )
    result = train(config, exports("voc64"), tmp_path / "out", progress=lambda *a: messages.append(a),
                   on_epoch=reports.append)
    model_dir = tmp_path / "out" / "trees"
    assert result.package_path == model_dir / "trees.dlpk"
    for name in ("trees.emd", "trees.pth", "ModelCharacteristics/loss_graph.png", "ModelCharacteristics/show_results.png"):
        assert (model_dir / name).is_file(), name
    with zipfile.ZipFile(result.package_path) as archive:
        assert {"trees.emd", "trees.pth", "ModelCharacteristics/loss_graph.png",
                "ModelConfiguration.py"} <= set(archive.namelist())
        assert not [n for n in archive.namelist() if n.endswith(".dlpk")]  # no copy of itself
    assert result.epochs_run == 1 and result.best_epoch == 1 and result.lr == 1e-3
    assert len(reports) == 1 and reports[0].valid_loss is not None and "mAP50" in reports[0].metrics
    assert any("ETA" in m for _, _, m in messages) and messages[-1][0] == messages[-1][1]
    assert "Tree" in result.metrics["per_class"]

    emd_json = json.loads((model_dir / "trees.emd").read_text())
    # the mobilenet variant is not arcgis.learn's: ArcGIS runs it as a ModelExtension (issue 15)
    assert emd_json["ModelName"] == "ModelExtension" and emd_json["ModelType"] == "ObjectDetection"
    assert emd_json["ModelConfigurationFile"] == "ModelConfiguration.py"
    assert emd_json["ModelParameters"]["rasterlab_arch"] == "FasterRCNN"
    assert emd_json["ModelParameters"]["backbone"] == "mobilenet_v3_large"
    assert emd_json["Classes"] == [{"Value": 1, "Name": "Tree", "Color": [0, 160, 0]}]
    assert emd_json["ImageHeight"] == 64 and emd_json["ExtractBands"] == [0, 1, 2]
    assert emd_json["MinCellSize"]["x"] == pytest.approx(0.1)
    assert set(emd_json["average_precision_score"]) == {"Tree"}
    assert emd_json["LearningRate"] == "1.0000e-03" and "monitored_valid_loss" in emd_json
    assert emd_json["IsImageNetNormalization"] is True and "NormalizationStats" not in emd_json

    emd, predictor = _load(result, tmp_path)
    assert model_family(emd).runnable
    found = predictor.detect(predictor.prepare(_chips(64)), 0.0, 0.5)
    assert len(found) == 2 and found[0].boxes.shape[1] == 4


def test_multispectral_pixel_classifier(exports: Any, tmp_path: Path) -> None:
    folder = exports("tiles64_4band")
    assert folder.band_count == 4 and not folder.is_8bit_rgb
    config = TrainConfig(model_type="UnetClassifier", backbone="resnet18", out_name="cover",
                         max_epochs=1, batch_size=2, learning_rate=1e-3, validation_percentage=25)
    result = train(config, folder, tmp_path / "out")
    emd, predictor = _load(result, tmp_path)
    assert emd.model_configuration == "_unet" and emd.model_name == "UnetClassifier" and len(emd.bands) == 4
    assert emd.imagery_type == "ms"  # what arcgis.learn needs beside NormalizationStats
    assert emd.is_multispectral is True and emd.normalization_stats is not None
    assert emd.normalization_stats.band_mean_values == (100.0, 101.0, 102.0, 103.0)
    assert emd.accuracy is not None and set(emd.per_class_metrics or {}) == {"NoData", "Tree"}
    assert emd.supports_variable_tile_size is True
    probs = predictor.segment(predictor.prepare(_chips(64, bands=4)))
    assert probs.shape == (2, 2, 64, 64)


def test_feature_classifier_with_lr_finder(exports: Any, tmp_path: Path) -> None:
    config = TrainConfig(model_type="FeatureClassifier", backbone="resnet18", out_name="health",
                         max_epochs=1, batch_size=4, learning_rate=None, lr_find_steps=6,
                         validation_percentage=25)
    result = train(config, exports("labeled64"), tmp_path / "out")
    model_dir = tmp_path / "out" / "health"
    assert (model_dir / "ModelCharacteristics" / "lr_finder.png").is_file()
    assert 1e-6 <= result.lr <= 1e-2
    emd, predictor = _load(result, tmp_path)
    assert emd.framework == "arcgis.learn.models._inferencing"
    assert emd.model_configuration == "_FeatureClassifier"
    assert emd.meta_data_mode == "Labeled_Tiles" and [c.name for c in emd.classes] == ["Dead", "Alive"]
    assert emd.crop_size_fixed is True and emd.blacken_around_feature is False
    index, confidence = predictor.classify(predictor.prepare(_chips(64)))
    assert index.shape == (2,) and confidence.dtype == np.float32
    assert len(result.metrics["confusion_matrix"]) == 2


def test_chips_are_resized_to_chip_size(exports: Any, tmp_path: Path) -> None:
    config = TrainConfig(model_type="UnetClassifier", backbone="resnet18", out_name="small",
                         max_epochs=1, batch_size=2, learning_rate=1e-3, chip_size=32,
                         validation_percentage=0)
    result = train(config, exports("tiles64_4band"), tmp_path / "out")
    emd = json.loads((tmp_path / "out" / "small" / "small.emd").read_text())
    assert emd["ImageHeight"] == 32 and emd["resize_to"] == 32
    # inference reads the raster 2x coarser, as training saw it (64 px chips shrunk to 32)
    assert emd["ModelParameters"]["rasterlab_resized_from"] == 64
    assert input_scale_of(parse_emd(json.dumps(emd))) == 2.0
    assert "accuracy" not in emd and "monitored_valid_loss" not in emd  # no validation set
    assert result.history[0].valid_loss is None


def _train_with_validation(
    exports: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, losses: list[float], maps: list[float] | None = None,
) -> Any:
    """7 epochs at most, patience 2, with these validation losses (and mAP50s) per epoch."""
    loss_values, map_values = iter(losses), iter(maps or [])
    real = loop_module.evaluate

    def scripted(*args: Any, **kwargs: Any) -> Evaluation:
        evaluation = real(*args, **kwargs)
        evaluation.loss = next(loss_values)
        if maps is not None:
            evaluation.metrics = {"mAP50": next(map_values)}
        return evaluation

    monkeypatch.setattr(loop_module, "evaluate", scripted)
    config = TrainConfig(model_type="FeatureClassifier", backbone="resnet18", out_name="es",
                         max_epochs=7, batch_size=4, learning_rate=1e-4, stop_training=True,
                         patience=2, validation_percentage=25)
    return train(config, exports("labeled64"), tmp_path / "out")


def test_early_stopping_stops_when_validation_loss_stops_improving(
    exports: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _train_with_validation(exports, tmp_path, monkeypatch, [1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    # 2 epochs without improvement at epoch 4, but the one-cycle rate is still above half its
    # peak until 65% of the run (epoch 4.55 of 7): the run stops after epoch 5
    assert result.epochs_run == 5 and result.best_epoch == 2
    emd = json.loads((tmp_path / "out" / "es" / "es.emd").read_text())
    assert emd["monitored_valid_loss"] == pytest.approx(0.5)


def test_early_stopping_waits_while_validation_loss_falls_though_map_does_not_rise(
    exports: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mAP over a few validation chips is noisy: a run whose loss still falls is still learning
    (stopping it would skip the schedule's low-rate end, where detectors gain most)."""
    result = _train_with_validation(exports, tmp_path, monkeypatch, [1.0, 0.9, 0.8, 0.7, 0.6, 0.65, 0.7],
                                    maps=[0.5, 0.6, 0.55, 0.58, 0.57, 0.59, 0.52])
    assert result.epochs_run == 7  # mAP peaked at epoch 2, but the loss fell until epoch 5
    assert result.best_epoch == 2  # the kept weights are still the best by mAP


def test_cancel_mid_epoch_leaves_nothing(exports: Any, tmp_path: Path) -> None:
    calls = {"n": 0}

    def should_stop() -> bool:
        calls["n"] += 1
        return calls["n"] >= 2  # after the first batch

    out = tmp_path / "out"
    config = TrainConfig(model_type="FeatureClassifier", backbone="resnet18", out_name="x",
                         max_epochs=3, batch_size=2, learning_rate=1e-3)
    with pytest.raises(Cancelled):
        train(config, exports("labeled64"), out, should_stop=should_stop)
    assert calls["n"] == 2
    assert not out.exists()


def test_bad_requests_fail_before_writing(exports: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(EngineInputError, match="RCNN_Masks"):
        train(TrainConfig(model_type="MaskRCNN", out_name="m"), exports("voc64"), out)
    with pytest.raises(EngineInputError, match="out_name"):
        train(TrainConfig(model_type="FasterRCNN", out_name="../m"), exports("voc64"), out)
    with pytest.raises(EngineInputError, match="choose one of"):
        train(TrainConfig(model_type="DeepLab", backbone="resnet18", out_name="m"), exports("tiles64_4band"), out)
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this worker has a GPU")
def test_gpu_request_without_a_gpu(exports: Any, tmp_path: Path) -> None:
    config = TrainConfig(model_type="FeatureClassifier", out_name="g", device="cuda")
    with pytest.raises(EngineInputError, match="no CUDA device"):
        train(config, exports("labeled64"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_maskrcnn_package_is_arcgis_shaped(exports: Any, tmp_path: Path) -> None:
    config = TrainConfig(model_type="MaskRCNN", out_name="crowns", max_epochs=1, batch_size=2,
                         learning_rate=1e-4, validation_percentage=34)
    result = train(config, exports("masks64"), tmp_path / "out")
    emd, predictor = _load(result, tmp_path)
    assert emd.framework == "arcgis.learn.models._inferencing"
    assert emd.model_configuration == "_maskrcnn_inferencing"
    assert emd.model_type == "InstanceDetection" and emd.maskrcnn_kwargs == {}
    assert emd.supports_variable_tile_size is True
    assert emd.average_precision_score is not None and "Tree" in emd.average_precision_score
    found = predictor.detect(predictor.prepare(_chips(64, count=1)), 0.5, 0.5)
    assert found[0].masks is not None


def _ap50(predicted: list[Any], dataset: Any) -> float:
    truths = [TrueObjects(t["boxes"].numpy(), t["labels"].numpy()) for _, t in dataset]
    return float(detection_scores(predicted, truths, 1).map50 or 0.0)


@pytest.mark.slow
def test_detector_overfits_a_handful_of_chips(exports: Any, tmp_path: Path) -> None:
    """Mobilenet Faster R-CNN from scratch, 4 real 64 px chips (9 trees), 25 steps."""
    folder = exports("voc64_fixed")  # PIXEL_SPACE: no augmentation
    data = ChipDataset(folder.samples, DataSpec("object_detection", folder.metadata_format, folder.classes,
                                                IMAGENET, 64, True), augment=False, seed=0)
    images = [image for image, _ in data]
    torch.manual_seed(42)  # the weights train() starts from (same seed)
    untrained = build_model("FasterRCNN", "mobilenet_v3_large", 1, 3, 64).eval()
    with torch.no_grad():
        before = _ap50([Detections(o["boxes"].numpy(), o["scores"].numpy(), o["labels"].numpy(), None)
                        for o in untrained(images)], data)
    config = TrainConfig(model_type="FasterRCNN", backbone="mobilenet_v3_large", out_name="fit",
                         max_epochs=25, batch_size=4, learning_rate=5e-4, validation_percentage=0,
                         stop_training=False)
    result = train(config, folder, tmp_path / "out")
    _, predictor = _load(result, tmp_path)
    after = _ap50(predictor.detect(torch.stack(images), 0.05, 0.5), data)
    assert before < 0.2
    assert after > 0.4 and after > before + 0.3, (before, after)
