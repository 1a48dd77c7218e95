"""The sparse RoIAlign backward gives torchvision's gradient, and the swapped pooler its output."""
from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torchvision.ops import MultiScaleRoIAlign, roi_align

from backend.engine.nets.roi_pool_cpu import FastMultiScaleRoIAlign, roi_align_backward, use_fast_roi_pools


def _boxes(n: int, size: float, seed: int, largest: float = 1 / 3) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        xy = torch.rand(40, 2, generator=g) * (size + 10) - 8  # some reach past every edge
        wh = 0.3 + torch.rand(40, 2, generator=g) * size * largest
        out.append(torch.cat([xy, xy + wh], 1))
    return out


@pytest.mark.parametrize("scale,sr", [(1 / 8, 2), (1 / 16, 2), (1 / 4, 1), (1 / 8, 3)])
def test_backward_equals_torchvision(scale: float, sr: int) -> None:
    torch.manual_seed(0)
    features = torch.randn(3, 5, int(256 * scale), int(256 * scale), dtype=torch.float64, requires_grad=True)
    rois = torch.cat([torch.cat([torch.full((len(b), 1), float(i)), b], 1)
                      for i, b in enumerate(_boxes(3, 256, 1))]).double()
    pooled = roi_align(features, rois, 7, scale, sr)
    grad_out = torch.randn_like(pooled)
    (expected,) = torch.autograd.grad(pooled, features, grad_out)
    got = roi_align_backward(grad_out, rois, features.shape, scale, sr)
    assert torch.allclose(got, expected, atol=1e-10)


def test_pooler_matches_torchvision_forward_and_backward() -> None:
    torch.manual_seed(0)
    sizes = {"0": 32, "1": 16, "2": 8}
    feats = OrderedDict((k, torch.randn(2, 6, s, s, dtype=torch.float64, requires_grad=True)) for k, s in sizes.items())
    boxes = [b.double().clamp(0, 256) for b in _boxes(2, 256, 2, largest=1.0)]  # all three levels
    boxes = [torch.cat([b[:, :2], torch.maximum(b[:, 2:], b[:, :2] + 0.5)], 1) for b in boxes]
    reference = MultiScaleRoIAlign(list(sizes), 7, 2, canonical_scale=56)  # spread over levels
    fast = FastMultiScaleRoIAlign(list(sizes), 7, 2, canonical_scale=56)
    shapes = [(256, 256)] * 2
    a = reference(feats, boxes, shapes)
    b = fast(feats, boxes, shapes)
    assert torch.equal(a, b)
    assert len(set(reference.map_levels(boxes).tolist())) == 3
    grad = torch.randn_like(a)
    ga = torch.autograd.grad(a, list(feats.values()), grad)
    gb = torch.autograd.grad(b, list(feats.values()), grad)
    for x, y in zip(ga, gb):
        assert torch.allclose(x, y, atol=1e-10)


def test_swap_keeps_the_detector_and_its_weights() -> None:
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_fpn

    model = fasterrcnn_mobilenet_v3_large_fpn(weights=None, weights_backbone=None, num_classes=2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    use_fast_roi_pools(model)
    assert isinstance(model.roi_heads.box_roi_pool, FastMultiScaleRoIAlign)
    assert model.state_dict().keys() == before.keys()
    model.train()
    images = [torch.rand(3, 128, 128)]
    targets = [{"boxes": torch.tensor([[10.0, 10.0, 50.0, 60.0]]), "labels": torch.tensor([1])}]
    losses = model(images, targets)
    sum(losses.values()).backward()
    assert all(torch.isfinite(v) for v in losses.values())
