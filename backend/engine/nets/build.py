"""`build_model`: one entry point for every architecture in the catalog."""
from __future__ import annotations

import logging
from collections.abc import Sequence

from torch import nn

from backend.engine.errors import EngineInputError
from backend.engine.nets.backbones import adapt_first_conv, describe_backbone_init
from backend.engine.nets.catalog import arch_spec
from backend.engine.nets.classifier import build_feature_classifier
from backend.engine.nets.detection import build_detector
from backend.engine.nets.dynamic_unet import DynamicUnet
from backend.engine.nets.segmentation import build_deeplab

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MIN_CHIP_SIZE = 32


def default_image_stats(in_channels: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """ImageNet mean/std for RGB; extra bands get the RGB average, fewer bands the first ones."""
    mean_extra = sum(IMAGENET_MEAN) / 3
    std_extra = sum(IMAGENET_STD) / 3
    if in_channels <= 3:
        return IMAGENET_MEAN[:in_channels], IMAGENET_STD[:in_channels]
    pad = in_channels - 3
    return IMAGENET_MEAN + (mean_extra,) * pad, IMAGENET_STD + (std_extra,) * pad


def build_model(
    model_type: str,
    backbone: str,
    num_classes: int,
    in_channels: int,
    chip_size: int,
    *,
    image_mean: Sequence[float] | None = None,
    image_std: Sequence[float] | None = None,
    pretrained_backbone: bool = True,
    coco_start: bool = False,
) -> nn.Module:
    """Build an untrained model.

    `num_classes` is the number of user classes N: detectors and pixel classifiers get N+1
    outputs (0 = background), FeatureClassifier N. `image_mean`/`image_std` (one value per band,
    for 0..1 inputs) only matter for detectors, which normalise inside; they default to ImageNet.
    With `pretrained_backbone`, a cached ImageNet checkpoint is used when present (see
    `backbones.describe_backbone_init`); nothing is downloaded. `coco_start`: the whole detector
    starts from torchvision's COCO weights in the cache (`weights.resolve_model` said so).
    """
    spec = arch_spec(model_type)
    backbone = spec.check_backbone(backbone)
    if num_classes < 1:
        raise EngineInputError("the training data must define at least one class")
    if in_channels < 1:
        raise EngineInputError("the imagery must have at least one band")
    if chip_size < MIN_CHIP_SIZE:
        raise EngineInputError(f"chip_size must be at least {MIN_CHIP_SIZE} pixels")
    log.info("%s: %s", spec.name, describe_backbone_init(backbone, pretrained_backbone))
    outputs = num_classes + 1 if spec.background else num_classes
    if spec.torchvision_detector:
        default_mean, default_std = default_image_stats(in_channels)
        mean = tuple(image_mean) if image_mean is not None else default_mean
        std = tuple(image_std) if image_std is not None else default_std
        if len(mean) != in_channels or len(std) != in_channels:
            raise EngineInputError(
                f"image_mean/image_std need one value per band ({in_channels} bands)"
            )
        model = build_detector(
            spec.name, backbone, outputs, chip_size, mean, std, pretrained_backbone,
            coco=coco_start and in_channels == 3,
        )
    elif spec.name == "UnetClassifier":  # arcgis.learn's layout (fastai DynamicUnet)
        model = DynamicUnet(backbone, outputs, chip_size, pretrained_backbone, in_channels)
    elif spec.name == "DeepLab":
        model = build_deeplab(backbone, outputs, pretrained_backbone)
    else:
        model = build_feature_classifier(backbone, outputs, pretrained_backbone)
    adapt_first_conv(model, in_channels)
    return model
