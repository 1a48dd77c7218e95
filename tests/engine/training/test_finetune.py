"""Fine-tuning from a package: matching weights load, class heads follow class values."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torchvision.models.detection import fasterrcnn_resnet50_fpn

from backend.engine.dlpk.emd import parse_emd
from backend.engine.errors import EngineInputError
from backend.engine.nets import arch_spec, build_model
from backend.engine.nets.heads import ClassHead
from backend.engine.training import PretrainedSource, TrainConfig, train
from backend.engine.training.finetune import _remap, check_compatible, load_pretrained


def _package(folder: Path, emd: dict[str, Any], state: dict[str, torch.Tensor]) -> PretrainedSource:
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(state, folder / emd["ModelFile"])
    (folder / "model.emd").write_text(json.dumps(emd))
    return PretrainedSource(folder, parse_emd(emd))


def _classifier_package(folder: Path, bands: int = 3) -> tuple[PretrainedSource, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    state = build_model("FeatureClassifier", "resnet18", 2, bands, 64).state_dict()
    emd = {
        "Framework": "arcgis.learn.models._inferencing", "ModelConfiguration": "_FeatureClassifier",
        "ModelType": "ObjectClassification", "ModelName": "FeatureClassifier", "ModelFile": "health.pth",
        "ImageHeight": 64, "ImageWidth": 64, "ExtractBands": list(range(bands)),
        "Classes": [{"Value": 1, "Name": "Dead", "Color": [1, 1, 1]}, {"Value": 2, "Name": "Alive", "Color": [2, 2, 2]}],
        "ModelParameters": {"backbone": "resnet18", "rasterlab_arch": "FeatureClassifier"},
        "MetaDataMode": "Labeled_Tiles",
    }
    return _package(folder, emd, state), state


def test_classifier_head_rows_follow_class_values(tmp_path: Path) -> None:
    source, old = _classifier_package(tmp_path / "pkg")
    torch.manual_seed(5)
    model = build_model("FeatureClassifier", "resnet18", 3, 3, 64)
    fresh = model.state_dict()["1.8.weight"].clone()
    report = load_pretrained(model, arch_spec("FeatureClassifier"), (2, 1, 7), source)
    new = model.state_dict()
    assert torch.equal(new["1.8.weight"][0], old["1.8.weight"][1])  # Alive moved to index 0
    assert torch.equal(new["1.8.weight"][1], old["1.8.weight"][0])  # Dead moved to index 1
    assert torch.equal(new["1.8.weight"][2], fresh[2])  # Snag is new
    assert torch.equal(new["1.8.bias"][:2], old["1.8.bias"].flip(0))
    assert torch.equal(new["0.4.0.conv1.weight"], old["0.4.0.conv1.weight"])
    assert report.kept_classes == (2, 1) and report.new_classes == (7,) and not report.skipped
    assert "new classes [7]" in report.message()


def test_arcgis_fasterrcnn_package_with_other_classes(tmp_path: Path) -> None:
    torch.manual_seed(0)
    esri = fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=3)
    state = {k: v for k, v in esri.state_dict().items() if not k.endswith("num_batches_tracked")}
    emd = {
        "Framework": "arcgis.learn.models._inferencing", "ModelConfiguration": "_model_extension_inferencing",
        "ModelType": "ObjectDetection", "ModelName": "FasterRCNN", "ModelFile": "cars.pth",
        "ImageHeight": 256, "ImageWidth": 256, "ExtractBands": [0, 1, 2],
        "Classes": [{"Value": 1, "Name": "car", "Color": [1, 1, 1]}, {"Value": 2, "Name": "truck", "Color": [2, 2, 2]}],
        "ModelParameters": {"backbone": "resnet50"}, "Kwargs": {},
    }
    source = _package(tmp_path / "pkg", emd, state)
    model = build_model("FasterRCNN", "resnet50", 1, 3, 256)
    report = load_pretrained(model, arch_spec("FasterRCNN"), (2,), source)
    new = model.state_dict()
    cls, box = "roi_heads.box_predictor.cls_score.weight", "roi_heads.box_predictor.bbox_pred.weight"
    assert new[cls].shape == (2, 1024)
    assert torch.equal(new[cls][0], state[cls][0]) and torch.equal(new[cls][1], state[cls][2])
    assert torch.equal(new[box][4:8], state[box][8:12])
    assert torch.equal(new["backbone.fpn.layer_blocks.0.0.weight"], state["backbone.fpn.layer_blocks.0.0.weight"])
    assert report.kept_classes == (2,) and len(report.remapped) == 4


def test_anchor_interleaved_heads_are_remapped_per_anchor() -> None:
    anchors, n_old = 3, 3  # background + 2 classes
    old = torch.arange(anchors * n_old, dtype=torch.float32).view(-1, 1)  # row = a * 3 + c
    fresh = torch.full((anchors * 2, 1), -1.0)
    out = _remap(ClassHead("x", interleaved=True), old, fresh, [0, 2], n_old)
    assert out is not None
    assert out.flatten().tolist() == [0.0, 2.0, 3.0, 5.0, 6.0, 8.0]


def test_incompatible_packages_say_what_to_fix(tmp_path: Path) -> None:
    source, _ = _classifier_package(tmp_path / "pkg")
    with pytest.raises(EngineInputError, match="set model_type to FeatureClassifier"):
        check_compatible(arch_spec("UnetClassifier"), "resnet18", 3, source)
    with pytest.raises(EngineInputError, match="set backbone to resnet18"):
        check_compatible(arch_spec("FeatureClassifier"), "resnet34", 3, source)
    with pytest.raises(EngineInputError, match="expects 3-band imagery but the training data has 4"):
        check_compatible(arch_spec("FeatureClassifier"), "resnet18", 4, source)


def test_fine_tune_run_with_new_classes(exports: Any, tmp_path: Path) -> None:
    source, old = _classifier_package(tmp_path / "pkg")
    config = TrainConfig(model_type="FeatureClassifier", out_name="tuned", max_epochs=1, batch_size=4,
                         learning_rate=1e-4, validation_percentage=25)
    messages: list[str] = []
    result = train(config, exports("labeled64_new_classes"), tmp_path / "out",
                   progress=lambda d, t, m: messages.append(m), pretrained=source)
    emd = json.loads((tmp_path / "out" / "tuned" / "tuned.emd").read_text())
    assert [c["Name"] for c in emd["Classes"]] == ["Alive", "Dead", "Snag"]
    assert emd["ModelParameters"]["backbone"] == "resnet18"  # taken from the package
    assert any(m.startswith("fine-tuning: loaded") for m in messages)
    assert result.epochs_run == 1


def test_fine_tune_with_wrong_bands_fails_before_writing(exports: Any, tmp_path: Path) -> None:
    source, _ = _classifier_package(tmp_path / "pkg", bands=4)
    config = TrainConfig(model_type="FeatureClassifier", out_name="tuned", max_epochs=1)
    with pytest.raises(EngineInputError, match="4-band"):
        train(config, exports("labeled64"), tmp_path / "out", pretrained=source)
    assert not (tmp_path / "out").exists()
