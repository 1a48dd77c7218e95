"""Per-architecture training defaults that work on small sets (a few hundred labels).

`learning_rate=None` runs the LR range test; its suggestion is kept inside the recipe's
`lr_range`, because on a few dozen noisy batches the test can point at a rate that diverges
(or one that barely moves). The benchmark (bench/quality.py) measures the detector recipe.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from backend.engine.nets.catalog import ArchSpec


@dataclass(frozen=True)
class Recipe:
    optimizer: Literal["adamw", "sgd"]
    lr: float  # used when the LR test gives nothing usable
    lr_range: tuple[float, float]  # LR test suggestions are clipped into this
    weight_decay: float
    freeze_epochs: int  # epochs with a frozen backbone when it starts pretrained
    clip_norm: float  # gradient norm clipping


# Lite0 Faster R-CNN on YELL_crop2: the LR test's loss is flat from 1e-6 to 1e-3 and blows up
# at ~3e-3, and its rule (a tenth of the lowest point) said 7e-6, far too slow for a short run.
_DETECTOR = Recipe("adamw", 3e-4, (2e-4, 1e-3), 1e-4, 1, 10.0)
_DETECTOR_SCRATCH = Recipe("adamw", 1e-3, (3e-4, 3e-3), 1e-4, 0, 10.0)
_DENSE = Recipe("adamw", 1e-3, (1e-4, 3e-3), 1e-2, 1, 5.0)


# What a user who leaves the backbone empty trains: the start whose ImageNet weights install from
# the package registry (so it is pretrained even offline) and that trains fastest on a CPU.
_TRAINING_BACKBONE = {"FasterRCNN": "efficientnet_lite0"}


def training_backbone(spec: ArchSpec) -> str:
    """The backbone a new model gets when none is given (may differ from the emd default)."""
    return _TRAINING_BACKBONE.get(spec.name, spec.default_backbone)


def recipe_for(spec: ArchSpec, pretrained: bool) -> Recipe:
    if spec.torchvision_detector:
        return _DETECTOR if pretrained else _DETECTOR_SCRATCH
    return _DENSE


def clip_lr(recipe: Recipe, suggestion: float | None) -> float:
    if suggestion is None or not suggestion > 0:
        return recipe.lr
    low, high = recipe.lr_range
    return float(min(max(suggestion, low), high))
