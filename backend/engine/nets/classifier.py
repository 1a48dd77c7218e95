"""FeatureClassifier: fastai v1 `cnn_learner` layout written as plain torch modules.

`Sequential(body, head)`: body = the torchvision ResNet's children up to layer4 (keys 0.0 conv1,
0.1 bn1, 0.4-0.7 layer1-4); head = concat pool, flatten, BN1d(2nf), Dropout(0.25),
Linear(2nf, 512), ReLU, BN1d(512), Dropout(0.5), Linear(512, C) (keys 1.2, 1.4, 1.6, 1.8).
C = number of classes, no background. This is the state_dict arcgis.learn saves.
"""
from __future__ import annotations

import torch
from torch import nn

from backend.engine.nets.backbones import resnet, resnet_channels


class AdaptiveConcatPool2d(nn.Module):
    """Max pool and average pool to 1x1, concatenated (max first, as fastai does)."""

    def __init__(self) -> None:
        super().__init__()
        self.ap = nn.AdaptiveAvgPool2d(1)
        self.mp = nn.AdaptiveMaxPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.mp(x), self.ap(x)], 1)


def build_feature_classifier(backbone: str, num_classes: int, pretrained: bool) -> nn.Sequential:
    trunk = resnet(backbone, pretrained)
    body = nn.Sequential(
        trunk.conv1, trunk.bn1, trunk.relu, trunk.maxpool,
        trunk.layer1, trunk.layer2, trunk.layer3, trunk.layer4,
    )
    nf = resnet_channels(backbone)[-1] * 2
    head = nn.Sequential(
        AdaptiveConcatPool2d(),
        nn.Flatten(),
        nn.BatchNorm1d(nf),
        nn.Dropout(0.25),
        nn.Linear(nf, 512),
        nn.ReLU(inplace=True),
        nn.BatchNorm1d(512),
        nn.Dropout(0.5),
        nn.Linear(512, num_classes),
    )
    for module in head.modules():  # fastai initialises the head's linears with kaiming normal
        if isinstance(module, nn.Linear):
            nn.init.kaiming_normal_(module.weight)
            nn.init.zeros_(module.bias)
    return nn.Sequential(body, head)
