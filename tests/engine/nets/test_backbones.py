"""Cached ImageNet checkpoints and first-convolution adaptation."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision.models import resnet18

from backend.engine.nets import build_model
from backend.engine.nets.backbones import adapt_first_conv, backbone_checkpoint, describe_backbone_init


def _fake_imagenet_resnet18(hub: Path) -> dict[str, torch.Tensor]:
    """Stand-in for torchvision's cached resnet18 checkpoint (same file name and layout)."""
    torch.manual_seed(1)
    state = resnet18(weights=None).state_dict()
    folder = hub / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(state, folder / "resnet18-f37072fd.pth")
    return state


def test_cached_checkpoint_is_loaded_and_reported(empty_torch_hub: Path) -> None:
    assert backbone_checkpoint("resnet18") is None
    state = _fake_imagenet_resnet18(empty_torch_hub)
    assert backbone_checkpoint("resnet18") == empty_torch_hub / "checkpoints" / "resnet18-f37072fd.pth"
    assert "starts from its ImageNet weights (the weights cache" in describe_backbone_init("resnet18")
    model = build_model("FeatureClassifier", "resnet18", 2, 3, 64)
    assert torch.equal(model.state_dict()["0.0.weight"], state["conv1.weight"])
    assert torch.equal(model.state_dict()["0.4.0.conv1.weight"], state["layer1.0.conv1.weight"])
    unet = build_model("UnetClassifier", "resnet18", 2, 3, 64)
    assert torch.equal(unet.state_dict()["layers.0.7.1.conv2.weight"], state["layer4.1.conv2.weight"])
    scratch = build_model("FeatureClassifier", "resnet18", 2, 3, 64, pretrained_backbone=False)
    assert not torch.equal(scratch.state_dict()["0.0.weight"], state["conv1.weight"])


def test_four_band_model_keeps_pretrained_rgb_response(empty_torch_hub: Path) -> None:
    state = _fake_imagenet_resnet18(empty_torch_hub)
    model = build_model("FeatureClassifier", "resnet18", 2, 4, 64)
    weight = model.state_dict()["0.0.weight"]
    assert weight.shape == (64, 4, 7, 7)
    rgb = state["conv1.weight"]
    assert torch.allclose(weight[:, :3], rgb * 0.75)
    assert torch.allclose(weight[:, 3], rgb.mean(1) * 0.75)


def test_grey_band_sees_what_rgb_saw() -> None:
    conv = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, bias=True))
    grey = torch.rand(1, 1, 9, 9)
    expected = conv(grey.expand(-1, 3, -1, -1))
    adapt_first_conv(conv, 1)
    assert conv[0].in_channels == 1
    assert torch.allclose(conv(grey), expected, atol=1e-5)


def test_more_bands_keep_activation_scale() -> None:
    torch.manual_seed(0)
    conv = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1, bias=False))
    x = torch.rand(1, 3, 4, 4)
    with torch.no_grad():
        before = conv(x)
        adapt_first_conv(conv, 6)
        same_everywhere = torch.cat([x, x.mean(1, keepdim=True).expand(-1, 3, -1, -1)], 1)
        after = conv(same_everywhere)
    assert after.shape == before.shape
    assert after.abs().mean() == pytest.approx(before.abs().mean().item(), rel=0.5)
