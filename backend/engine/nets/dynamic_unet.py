"""UnetClassifier in arcgis.learn's layout: fastai v1's DynamicUnet on a torchvision ResNet.

arcgis.learn builds `unet_learner(data, resnet, bottle=True, last_cross=True)` (fastai 1.0.61,
norm_type None, no blur, no self-attention) and saves its state_dict. This module rebuilds the
same network as plain torch modules, key for key, so our packages load in arcgis.learn and its
packages load here (our own code, written from the structure of fastai's Apache-2.0 DynamicUnet).

`layers` (a ModuleList, as fastai's SequentialEx):
    0  encoder: Sequential(conv1, bn1, relu, maxpool, layer1..4)     (keys layers.0.0 ... 0.7)
    1  BatchNorm2d on the encoder output, 2 ReLU
    3  middle: two 3x3 conv+bias / ReLU, C -> 2C -> C
    4-7  UnetBlocks fed by layer3, layer2, layer1 and the stem ReLU (strides 16, 8, 4, 2):
         shuf (1x1 conv to 4x(c/2), ReLU, PixelShuffle), bn on the skip, conv1, conv2
    8  PixelShuffle_ICNR back to full resolution
    (odd chip sizes: a resize to the input size here, as fastai's Lambda; no weights)
    then MergeLayer (concatenate the input image), a bottleneck residual block, a 1x1 conv.
Class outputs: N+1 (index 0 = NoData/background).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from backend.engine.nets.backbones import resnet

_SKIPS = (6, 5, 4, 2)  # encoder children whose outputs the UnetBlocks take (deepest first)


def _conv(ni: int, nf: int, ks: int = 3, relu: bool = True) -> nn.Sequential:
    """fastai's conv_layer with norm_type None: conv with bias, then ReLU."""
    conv = nn.Conv2d(ni, nf, kernel_size=ks, padding=(ks - 1) // 2, bias=True)
    nn.init.kaiming_normal_(conv.weight)
    nn.init.zeros_(conv.bias)  # type: ignore[arg-type]  # bias=True
    return nn.Sequential(conv, nn.ReLU(inplace=True)) if relu else nn.Sequential(conv)


class PixelShuffleUp(nn.Module):
    """1x1 conv to 4x`nf` channels, ReLU, PixelShuffle(2): x2 resolution (keys conv.0.*)."""

    def __init__(self, ni: int, nf: int | None = None) -> None:
        super().__init__()
        nf = nf or ni
        self.conv = _conv(ni, nf * 4, ks=1, relu=False)
        self.shuf = nn.PixelShuffle(2)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.shuf(self.relu(self.conv(x)))
        return out


class UnetBlock(nn.Module):
    def __init__(self, up_in: int, skip_in: int, final_div: bool) -> None:
        super().__init__()
        self.shuf = PixelShuffleUp(up_in, up_in // 2)
        self.bn = nn.BatchNorm2d(skip_in)
        ni = up_in // 2 + skip_in
        nf = ni if final_div else ni // 2
        self.conv1 = _conv(ni, nf)
        self.conv2 = _conv(nf, nf)
        self.relu = nn.ReLU()
        self.out_channels = nf

    def forward(self, up_in: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = self.shuf(up_in)
        if up.shape[-2:] != skip.shape[-2:]:
            up = F.interpolate(up, skip.shape[-2:], mode="nearest")
        out: torch.Tensor = self.conv2(self.conv1(self.relu(torch.cat([up, self.bn(skip)], 1))))
        return out


class ResizeToInput(nn.Module):
    """Stands where fastai puts its resize Lambda (odd chip sizes); resized in forward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class MergeInput(nn.Module):
    """fastai's MergeLayer(dense=True): concatenated with the network input in forward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class ResBlock(nn.Module):
    """fastai's res_block(nf, bottle=True): x + conv(conv(x)), nf -> nf/2 -> nf (keys layers.*)."""

    def __init__(self, nf: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([_conv(nf, nf // 2), _conv(nf // 2, nf), MergeInput()])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.layers[1](self.layers[0](x)) + x
        return out


class DynamicUnet(nn.Module):
    def __init__(self, backbone: str, num_outputs: int, chip_size: int, pretrained: bool,
                 in_channels: int = 3) -> None:
        super().__init__()
        trunk = resnet(backbone, pretrained)
        encoder = nn.Sequential(trunk.conv1, trunk.bn1, trunk.relu, trunk.maxpool,
                                trunk.layer1, trunk.layer2, trunk.layer3, trunk.layer4)
        with torch.no_grad():  # channel counts of the skips, as fastai measures them
            sizes, x = [], torch.zeros(1, 3, 64, 64)
            for child in encoder:
                x = child(x)
                sizes.append(int(x.shape[1]))
        ni = sizes[-1]
        layers: list[nn.Module] = [encoder, nn.BatchNorm2d(ni), nn.ReLU(),
                                   nn.Sequential(_conv(ni, ni * 2), _conv(ni * 2, ni))]
        up = ni
        for i, index in enumerate(_SKIPS):
            block = UnetBlock(up, sizes[index], final_div=i != len(_SKIPS) - 1)
            layers.append(block)
            up = block.out_channels
        layers.append(PixelShuffleUp(up))
        if chip_size % 2:
            layers.append(ResizeToInput())
        layers += [MergeInput(), ResBlock(up + in_channels), _conv(up + in_channels, num_outputs, ks=1, relu=False)]
        self.layers = nn.ModuleList(layers)
        for module in layers[1:]:  # fastai's batchnorm_2d: weight 1, bias 1e-3
            for bn in module.modules():
                if isinstance(bn, nn.BatchNorm2d):
                    nn.init.ones_(bn.weight)
                    nn.init.constant_(bn.bias, 1e-3)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        skips: dict[int, torch.Tensor] = {}
        x = image
        encoder = self.layers[0]
        assert isinstance(encoder, nn.Sequential)
        for index, child in enumerate(encoder):
            x = child(x)
            if index in _SKIPS:
                skips[index] = x
        x = self.layers[3](self.layers[2](self.layers[1](x)))
        for block, index in zip(list(self.layers)[4:8], _SKIPS):
            x = block(x, skips[index])
        x = self.layers[8](x)
        for layer in list(self.layers)[9:]:
            if isinstance(layer, (ResizeToInput, MergeInput)) and x.shape[-2:] != image.shape[-2:]:
                x = F.interpolate(x, image.shape[-2:], mode="nearest")  # odd input sizes
            if isinstance(layer, MergeInput):
                x = torch.cat([x, image], 1)
            elif not isinstance(layer, ResizeToInput):
                x = layer(x)
        return x

    def backbone_modules(self) -> nn.Module:
        encoder: nn.Module = self.layers[0]
        return encoder
