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
