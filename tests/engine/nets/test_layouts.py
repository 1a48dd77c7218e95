"""State-dict layouts that arcgis.learn packages use (esri-dlpk.md §8), key for key."""
from __future__ import annotations

import pytest
import torch
from torchvision.models.detection import (
    MaskRCNN,
    fasterrcnn_resnet50_fpn,
    maskrcnn_resnet50_fpn,
)
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

from backend.engine.nets import build_model


def _layout(model: torch.nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


@pytest.mark.parametrize("classes", [1, 3])
def test_maskrcnn_resnet50_is_torchvision_v1(classes: int) -> None:
    reference = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=classes + 1)
    assert _layout(build_model("MaskRCNN", "resnet50", classes, 3, 256)) == _layout(reference)


@pytest.mark.parametrize("classes", [1, 2])
def test_fasterrcnn_resnet50_is_torchvision_v1(classes: int) -> None:
    reference = fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=classes + 1)
    assert _layout(build_model("FasterRCNN", "resnet50", classes, 3, 256)) == _layout(reference)


def test_maskrcnn_resnet101_is_resnet_fpn_backbone_maskrcnn() -> None:
    backbone = resnet_fpn_backbone(
        backbone_name="resnet101", weights=None, norm_layer=torch.nn.BatchNorm2d, trainable_layers=5
    )
    reference = MaskRCNN(backbone, num_classes=3)
    assert _layout(build_model("MaskRCNN", "resnet101", 2, 3, 256)) == _layout(reference)


def test_arcgis_frozen_batchnorm_weights_load_strictly() -> None:
    """arcgis.learn builds with an ImageNet backbone (FrozenBatchNorm2d: no num_batches_tracked)."""
    ours = build_model("MaskRCNN", "resnet50", 1, 3, 256)
    esri_like = {k: v for k, v in ours.state_dict().items() if not k.endswith("num_batches_tracked")}
    ours.load_state_dict(esri_like, strict=True)


@pytest.mark.parametrize(("backbone", "nf"), [("resnet34", 1024), ("resnet50", 4096)])
def test_feature_classifier_is_fastai_cnn_learner(backbone: str, nf: int) -> None:
    model = build_model("FeatureClassifier", backbone, 5, 3, 224)
    keys = list(model.state_dict())
    prefixes = {".".join(k.split(".")[:2]) for k in keys}
    assert prefixes == {"0.0", "0.1", "0.4", "0.5", "0.6", "0.7", "1.2", "1.4", "1.6", "1.8"}
    shapes = dict(_layout(model))
    assert shapes["0.0.weight"] == (64, 3, 7, 7)
    assert shapes["1.2.weight"] == (nf,) and "1.2.running_var" in shapes
    assert shapes["1.4.weight"] == (512, nf)
    assert shapes["1.6.weight"] == (512,)
    assert shapes["1.8.weight"] == (5, 512) and shapes["1.8.bias"] == (5,)
    # the body is torchvision's resnet without avgpool/fc, in children order
    from torchvision.models import resnet34, resnet50

    trunk = (resnet34 if backbone == "resnet34" else resnet50)(weights=None)
    names = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]
    body_ref = {
        f"0.{names.index(k.split('.')[0])}.{k.split('.', 1)[1]}": tuple(v.shape)
        for k, v in trunk.state_dict().items()
        if k.split(".")[0] in names
    }
    body = {k: v for k, v in shapes.items() if k.startswith("0.")}
    assert body == body_ref


def test_feature_classifier_pools_max_then_average() -> None:
    model = build_model("FeatureClassifier", "resnet18", 2, 3, 64).eval()
    pool = model[1][0]
    x = torch.arange(8.0).view(1, 2, 2, 2)
    assert pool(x).flatten().tolist() == [3.0, 7.0, 1.5, 5.5]


def test_unet_classifier_is_arcgis_learns_dynamic_unet() -> None:
    """Key for key the state_dict arcgis.learn 2.4.4 saved for a resnet34 UnetClassifier
    (recorded in data/arcgis_unet_resnet34_layout.json by scripts/arcgis_check, issue 15)."""
    import json
    from pathlib import Path

    from torchvision.models import resnet34

    recorded = json.loads((Path(__file__).parent / "data" / "arcgis_unet_resnet34_layout.json").read_text())
    model = build_model("UnetClassifier", "resnet34", 2, 3, 128, pretrained_backbone=False)
    layout = _layout(model)
    encoder = [(k, s) for k, s in layout if k.startswith("layers.0.")]
    names = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]
    expected_encoder = [
        (f"layers.0.{names.index(k.split('.')[0])}.{k.split('.', 1)[1]}", tuple(v.shape))
        for k, v in resnet34(weights=None).state_dict().items() if k.split(".")[0] in names
    ]
    assert encoder == expected_encoder and len(encoder) == recorded["encoder_keys"]
    assert [(k, s) for k, s in layout if not k.startswith("layers.0.")] == [
        (k, tuple(s)) for k, s in recorded["layout"]
    ]


def test_unet_classifier_odd_chips_and_extra_bands() -> None:
    """fastai inserts a resize (no weights) for odd chip sizes; the last block sees the bands."""
    model = build_model("UnetClassifier", "resnet18", 3, 4, 99, pretrained_backbone=False).eval()
    shapes = dict(_layout(model))
    assert shapes["layers.0.0.weight"] == (64, 4, 7, 7)
    assert shapes["layers.11.layers.0.0.weight"] == (50, 100, 3, 3)  # 96 + 4 bands, bottleneck
    assert shapes["layers.12.0.weight"] == (4, 100, 1, 1)
    with torch.no_grad():
        assert model(torch.rand(1, 4, 99, 99)).shape == (1, 4, 99, 99)
