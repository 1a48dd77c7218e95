"""Where each architecture keeps its class-dependent weights, and its backbone.

Fine-tuning with other classes keeps every weight whose shape still fits and rebuilds these
class heads row by row: a class present in both the package and the new data (same Value)
keeps its rows, new classes start from the fresh initialisation.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class ClassHead:
    """State-dict keys (weight and bias) whose first axis is laid out per output class."""

    pattern: str  # regular expression matched against the whole key
    rows_per_class: int = 1  # 4 for box regression (one box per class)
    interleaved: bool = False  # anchor-major dense heads: row = anchor * num_outputs + class

    def matches(self, key: str) -> bool:
        return re.fullmatch(self.pattern, key) is not None


_RCNN = (
    ClassHead(r"roi_heads\.box_predictor\.cls_score\.(weight|bias)"),
    ClassHead(r"roi_heads\.box_predictor\.bbox_pred\.(weight|bias)", rows_per_class=4),
)

_HEADS: dict[str, tuple[ClassHead, ...]] = {
    "FasterRCNN": _RCNN,
    "MaskRCNN": _RCNN + (ClassHead(r"roi_heads\.mask_predictor\.mask_fcn_logits\.(weight|bias)"),),
    "RetinaNet": (ClassHead(r"head\.classification_head\.cls_logits\.(weight|bias)", interleaved=True),),
    "SingleShotDetector": (
        ClassHead(r"head\.classification_head\.module_list\.\d+\.1\.(weight|bias)", interleaved=True),
    ),
    "UnetClassifier": (ClassHead(r"layers\.1[12]\.0\.(weight|bias)"),),  # the final 1x1 conv
    "DeepLab": (ClassHead(r"classifier\.4\.(weight|bias)"),),
    "FeatureClassifier": (ClassHead(r"1\.8\.(weight|bias)"),),
}


def class_heads(arch: str) -> tuple[ClassHead, ...]:
    return _HEADS[arch]


def class_head_for(arch: str, key: str) -> ClassHead | None:
    for head in _HEADS[arch]:
        if head.matches(key):
            return head
    return None


def backbone_of(arch: str, model: nn.Module) -> nn.Module:
    """The pretrained-style feature extractor, frozen during `freeze_backbone_epochs`."""
    if arch in ("FasterRCNN", "MaskRCNN", "RetinaNet"):
        return model.get_submodule("backbone.body")
    if arch == "SingleShotDetector":
        return model.get_submodule("backbone.features")
    if arch == "UnetClassifier":
        return model.get_submodule("layers.0")
    if arch == "DeepLab":
        return model.get_submodule("backbone")
    if arch == "FeatureClassifier":
        return model.get_submodule("0")
    raise ValueError(f"unknown architecture {arch}")
