"""Pixel classifiers: torchvision DeepLabv3, and the U-Net of Rasterlab's first packages.

Both return N+1 logits per pixel at the input resolution (index 0 = NoData/background).
UnetClassifier is now built as arcgis.learn's DynamicUnet (dynamic_unet.py); `LegacyUnet` only
loads packages written before that (ModelConfiguration "rasterlab.UnetClassifier").
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.segmentation import deeplabv3_resnet50, deeplabv3_resnet101

from backend.engine.nets.backbones import local_imagenet_weights, resnet, resnet_channels


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class DecoderBlock(nn.Module):
    """Upsample x2, concatenate the skip connection, two 3x3 conv-BN-ReLU."""

    def __init__(self, cin: int, skip: int, cout: int) -> None:
        super().__init__()
        self.conv1 = _conv_bn_relu(cin + skip, cout)
        self.conv2 = _conv_bn_relu(cout, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        size = skip.shape[-2:] if skip is not None else (x.shape[-2] * 2, x.shape[-1] * 2)
        x = F.interpolate(x, size=size, mode="nearest")
        if skip is not None:
            x = torch.cat([x, skip], 1)
        out: torch.Tensor = self.conv2(self.conv1(x))
        return out


class LegacyUnet(nn.Module):
    """U-Net: ResNet encoder (strides 2..32) and a 5-step decoder back to full resolution."""

    def __init__(self, backbone: str, num_outputs: int, pretrained: bool) -> None:
        super().__init__()
        encoder = resnet(backbone, pretrained)
        del encoder.fc, encoder.avgpool  # classifier parts are not used
        self.encoder = encoder
        c0, c1, c2, c3, c4 = resnet_channels(backbone)
        widths = (256, 128, 64, 64, 32)
        self.decoder = nn.ModuleList(
            [
                DecoderBlock(c4, c3, widths[0]),
                DecoderBlock(widths[0], c2, widths[1]),
                DecoderBlock(widths[1], c1, widths[2]),
                DecoderBlock(widths[2], c0, widths[3]),
                DecoderBlock(widths[3], 0, widths[4]),
            ]
        )
        self.head = nn.Conv2d(widths[4], num_outputs, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        e = self.encoder
        x0 = e.relu(e.bn1(e.conv1(x)))
        x1 = e.layer1(e.maxpool(x0))
        x2 = e.layer2(x1)
        x3 = e.layer3(x2)
        x4 = e.layer4(x3)
        y = x4
        for block, skip in zip(self.decoder, (x3, x2, x1, x0, None)):
            y = block(y, skip)
        y = self.head(y)
        assert isinstance(y, torch.Tensor)
        if y.shape[-2:] != size:  # odd input sizes
            y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
        return y

    def backbone_modules(self) -> nn.Module:
        encoder: nn.Module = self.encoder
        return encoder


def build_deeplab(backbone: str, num_outputs: int, pretrained: bool) -> nn.Module:
    """torchvision DeepLabv3 (no auxiliary head); forward returns {"out": logits}."""
    weights = local_imagenet_weights(backbone) if pretrained else None
    builder = deeplabv3_resnet50 if backbone == "resnet50" else deeplabv3_resnet101
    model: nn.Module = builder(weights=None, weights_backbone=weights, num_classes=num_outputs, aux_loss=False)
    return model
