"""Backbone helpers: ImageNet starting weights and first-convolution adaptation.

Where starting weights come from is decided in `weights.resolve` (the weights cache, a
registry package, or a download on first use that the training job triggers through
`weights.ensure_local` before building). Builders here only ever load files already on this
machine: torchvision's weight enum is passed only when its file sits in the cache (torch hub
dir), so torchvision loads it and never downloads.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchvision import models

from backend.engine.nets import weights as weights_store

log = logging.getLogger(__name__)

# torchvision's ImageNet weight enums per backbone; V1 (the layout torchvision's detection
# builders and arcgis.learn use).
_WEIGHT_ENUMS: dict[str, Any] = {
    "resnet18": models.ResNet18_Weights,
    "resnet34": models.ResNet34_Weights,
    "resnet50": models.ResNet50_Weights,
    "resnet101": models.ResNet101_Weights,
    "resnet152": models.ResNet152_Weights,
    "mobilenet_v3_large": models.MobileNet_V3_Large_Weights,
}


def hub_checkpoint_dir() -> Path:
    return weights_store.checkpoint_dir()


def local_imagenet_weights(backbone: str) -> Any | None:
    """torchvision's weight enum for `backbone` when its file is in the cache, else None."""
    enum = _WEIGHT_ENUMS.get(backbone)
    if enum is None:
        return None
    member = enum.IMAGENET1K_V1
    if (hub_checkpoint_dir() / str(member.url).rsplit("/", 1)[1]).is_file():
        return member
    return None


def backbone_checkpoint(backbone: str) -> Path | None:
    """The ImageNet checkpoint file on this machine for `backbone`, or None (random init)."""
    local = weights_store.local_path(backbone)
    return local[0] if local is not None else None


def describe_backbone_init(backbone: str, use_pretrained: bool = True) -> str:
    """One line for the training log: where the backbone's starting weights come from."""
    start = weights_store.resolve(backbone, use_pretrained)
    return f"{start.summary}; {start.advice}" if start.advice else start.summary


def adapt_first_conv(model: nn.Module, in_channels: int) -> None:
    """Give the model's first 3-channel convolution `in_channels` inputs, in place.

    The new kernel is derived from the old one so a pretrained backbone keeps its response to
    ordinary imagery: with more bands, the RGB kernels are kept and every extra band gets the
    mean RGB kernel; with fewer, each band gets the summed RGB kernel shared among them (a grey
    band seen as R=G=B, so the response is unchanged). With more bands the kernel is scaled by
    3/in_channels so activations keep their magnitude.
    """
    if in_channels == 3:
        return
    if in_channels < 1:
        raise ValueError("in_channels must be >= 1")
    parent, attr, conv = _first_rgb_conv(model)
    old = conv.weight.detach()
    new = nn.Conv2d(
        in_channels,
        conv.out_channels,
        kernel_size=conv.kernel_size,  # type: ignore[arg-type]
        stride=conv.stride,  # type: ignore[arg-type]
        padding=conv.padding,  # type: ignore[arg-type]
        dilation=conv.dilation,  # type: ignore[arg-type]
        groups=conv.groups,
        bias=conv.bias is not None,
    )
    with torch.no_grad():
        if in_channels > 3:
            extra = old.mean(1, keepdim=True).expand(-1, in_channels - 3, -1, -1)
            weight = torch.cat([old, extra], 1) * (3.0 / in_channels)
        else:
            weight = old.sum(1, keepdim=True).expand(-1, in_channels, -1, -1) / in_channels
        new.weight.copy_(weight)
        if conv.bias is not None and new.bias is not None:
            new.bias.copy_(conv.bias)
    new.to(old.device)
    setattr(parent, attr, new)


def _first_rgb_conv(model: nn.Module) -> tuple[nn.Module, str, nn.Conv2d]:
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d) and module.in_channels == 3:
            parent_name, _, attr = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            return parent, attr, module
    raise ValueError("the model has no 3-channel convolution to adapt")


def resnet(backbone: str, pretrained: bool) -> models.ResNet:
    """A torchvision ResNet classifier, ImageNet weights only when cached locally."""
    builder = getattr(models, backbone)
    weights = local_imagenet_weights(backbone) if pretrained else None
    model: models.ResNet = builder(weights=weights)
    return model


def resnet_channels(backbone: str) -> tuple[int, int, int, int, int]:
    """Output channels of (stem, layer1, layer2, layer3, layer4)."""
    if backbone in ("resnet18", "resnet34"):
        return (64, 64, 128, 256, 512)
    return (64, 256, 512, 1024, 2048)
