"""Tiny Rasterlab (PyTorch) packages of each family, as folders, for the runtime tests."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from backend.engine.dlpk.emd import Emd, parse_emd
from backend.engine.nets import build_model

CHIP = 64
FAMILIES = {
    "FasterRCNN": ("ObjectDetection", "efficientnet_lite0"),
    "MaskRCNN": ("InstanceDetection", "resnet50"),
    "UnetClassifier": ("ImageClassification", "resnet18"),
    "FeatureClassifier": ("ObjectClassification", "resnet18"),
}


def torch_emd(name: str, classes: int = 2, chip: int = CHIP, **extra: Any) -> dict[str, Any]:
    model_type, backbone = FAMILIES[name]
    emd: dict[str, Any] = {
        "Framework": "PyTorch",
        "ModelType": model_type,
        "ModelFile": "model.pth",
        "ModelName": name,
        "ImageHeight": chip,
        "ImageWidth": chip,
        "ExtractBands": [0, 1, 2],
        "Classes": [{"Value": v + 1, "Name": f"c{v + 1}", "Color": [40 * v, 90, 0]} for v in range(classes)],
        "ModelParameters": {"backbone": backbone, "rasterlab_arch": name},
    }
    emd.update(extra)
    return emd


def torch_package(folder: Path, name: str, classes: int = 2, chip: int = CHIP, seed: int = 0) -> Emd:
    """A folder with model.emd and model.pth (random weights, fixed seed)."""
    torch.manual_seed(seed)
    model_type, backbone = FAMILIES[name]
    model = build_model(name, backbone, classes, 3, chip, pretrained_backbone=False)
    if name in ("FasterRCNN", "MaskRCNN"):
        _spread_scores(model)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), folder / "model.pth")
    emd = torch_emd(name, classes, chip)
    (folder / "model.emd").write_text(json.dumps(emd, indent=4))
    return parse_emd(emd)


def _spread_scores(model: torch.nn.Module) -> None:
    """Random heads score every box near 1/classes; spread them so thresholds keep some."""
    roi_heads = getattr(model, "roi_heads", None)
    head = getattr(roi_heads, "box_predictor", None)
    if head is not None:
        with torch.no_grad():
            head.cls_score.weight.normal_(0.0, 0.05)
            head.cls_score.bias.normal_(0.0, 1.0)
            head.cls_score.bias[0] -= 3.0  # background would win almost everywhere
