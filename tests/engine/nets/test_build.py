"""Every architecture builds for 3 and 4 bands and takes a training step on a tiny batch."""
from __future__ import annotations

import pytest
import torch

from backend.engine.errors import EngineInputError
from backend.engine.nets import build_model
from backend.engine.nets.backbones import describe_backbone_init
from backend.engine.nets.catalog import ARCHS, arch_spec

CHIP = 64
ARCHITECTURES = [
    ("FasterRCNN", "resnet50"),
    ("FasterRCNN", "mobilenet_v3_large"),
    ("RetinaNet", "resnet50"),
    ("SingleShotDetector", "mobilenet_v3_large"),
    ("MaskRCNN", "resnet50"),
    ("UnetClassifier", "resnet18"),
    ("DeepLab", "resnet50"),
    ("FeatureClassifier", "resnet18"),
]


def _detection_targets(with_masks: bool) -> list[dict[str, torch.Tensor]]:
    targets = []
    for shift in (0, 10):
        t = {
            "boxes": torch.tensor([[8.0 + shift, 8.0, 30.0 + shift, 28.0], [36.0, 30.0, 60.0, 58.0]]),
            "labels": torch.tensor([1, 2]),
        }
        if with_masks:
            masks = torch.zeros((2, CHIP, CHIP), dtype=torch.uint8)
            for k, (x0, y0, x1, y1) in enumerate(t["boxes"].int().tolist()):
                masks[k, y0:y1, x0:x1] = 1
            t["masks"] = masks
        targets.append(t)
    return targets


@pytest.mark.parametrize("bands", [3, 4])
@pytest.mark.parametrize(("name", "backbone"), ARCHITECTURES)
def test_forward_backward(name: str, backbone: str, bands: int) -> None:
    torch.manual_seed(0)
    model = build_model(name, backbone, num_classes=2, in_channels=bands, chip_size=CHIP)
    model.train()
    spec = arch_spec(name)
    if hasattr(model, "roi_heads"):  # fewer sampled proposals: same code paths, less CPU
        model.roi_heads.fg_bg_sampler.batch_size_per_image = 32
        model.rpn._pre_nms_top_n["training"] = model.rpn._post_nms_top_n["training"] = 100
    images = torch.rand(2, bands, CHIP, CHIP)
    if spec.torchvision_detector:
        losses = model(list(images), _detection_targets(name == "MaskRCNN"))
        loss = sum(losses.values())
        if name == "MaskRCNN":
            assert "loss_mask" in losses
    else:
        out = model(images)
        out = out["out"] if isinstance(out, dict) else out
        outputs = 2 if name == "FeatureClassifier" else 3  # FeatureClassifier has no background
        expected = (2, outputs) if name == "FeatureClassifier" else (2, outputs, CHIP, CHIP)
        assert tuple(out.shape) == expected
        loss = out.logsumexp(1).mean()
    assert torch.isfinite(loss)
    loss.backward()
    first_conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.in_channels == bands
    assert first_conv.weight.grad is not None or not first_conv.weight.requires_grad


def test_every_catalog_entry_is_covered() -> None:
    assert {name for name, _ in ARCHITECTURES} == set(ARCHS)


def test_detectors_resize_to_one_and_a_half_chips_and_take_unit_inputs() -> None:
    model = build_model("MaskRCNN", "resnet50", 1, 3, 400)
    assert model.transform.min_size == (600,)
    assert model.transform.max_size == 800
    assert model.transform.image_mean == pytest.approx([0.485, 0.456, 0.406])
    four = build_model("FasterRCNN", "mobilenet_v3_large", 1, 4, 64, image_mean=[0.1] * 4, image_std=[0.2] * 4)
    assert four.transform.image_mean == [0.1] * 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model_type": "YOLOv3", "backbone": "darknet53"}, "unknown model type"),
        ({"model_type": "FasterRCNN", "backbone": "vgg16"}, "choose one of: resnet50, mobilenet_v3_large"),
        ({"model_type": "UnetClassifier", "backbone": "resnet18", "num_classes": 0}, "at least one class"),
        ({"model_type": "UnetClassifier", "backbone": "resnet18", "chip_size": 16}, "at least 32"),
    ],
)
def test_bad_arguments_say_what_to_fix(kwargs: dict[str, object], message: str) -> None:
    args = {"num_classes": 2, "in_channels": 3, "chip_size": 64, **kwargs}
    with pytest.raises(EngineInputError, match=message):
        build_model(**args)  # type: ignore[arg-type]


def test_aliases() -> None:
    assert arch_spec("SSD").name == "SingleShotDetector"
    assert arch_spec("unet").name == "UnetClassifier"
    assert arch_spec("FasterRCNN").check_backbone("mobilenet_v3_large_fpn") == "mobilenet_v3_large"


def test_without_a_cached_checkpoint_training_starts_from_scratch() -> None:
    assert "starts from random weights" in describe_backbone_init("resnet50")
