"""A faster RoIAlign backward for CPU training.

torchvision's CPU `roi_align` backward loops over RoIs, channels and samples in one thread;
training Faster R-CNN on Lite0 at 256 px spent a quarter of each step there. The op is linear
in the features, so its gradient is a sparse matrix product: each output bin is a weighted sum
of (sampling_ratio^2 samples x 4 bilinear corners) feature pixels. `FastMultiScaleRoIAlign`
keeps torchvision's forward (same numbers) and computes the backward as
`sparse(features x bins) @ grad(bins x channels)`, which runs several times faster
(bench/cpu_training.py). Only the features' gradient is produced: proposals are detached.

Weights follow torchvision's CPU kernel (aligned=False, fixed sampling_ratio): a sample outside
[-1, size] contributes nothing, one in [-1, 0] or [size-1, size] takes the edge pixel.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torchvision.ops import MultiScaleRoIAlign, roi_align
from torchvision.ops.poolers import _setup_scales


def _axis_weights(start: Tensor, length: Tensor, size: int, out: int, sr: int) -> tuple[Tensor, ...]:
    """Per RoI and sample along one axis ([R, out*sr]): low/high pixel, their weights, valid."""
    t = (torch.arange(out * sr, dtype=start.dtype, device=start.device) + 0.5) / sr
    pos = start[:, None] + t[None] * (length / out)[:, None]
    valid = (pos >= -1.0) & (pos <= size)
    pos = pos.clamp(min=0.0)
    low = pos.floor().long()
    at_edge = low >= size - 1
    low = torch.where(at_edge, torch.full_like(low, size - 1), low)
    high = torch.where(at_edge, low, low + 1)
    frac = torch.where(at_edge, torch.zeros_like(pos), pos - low.to(pos.dtype))
    return low, high, 1.0 - frac, frac, valid


def roi_align_backward(grad_out: Tensor, rois: Tensor, shape: torch.Size, scale: float, sr: int) -> Tensor:
    """Gradient of `roi_align(features, rois, out, scale, sr, aligned=False)` w.r.t. features."""
    n, c, h, w = shape
    r, _, out, _ = grad_out.shape
    s = out * sr
    x1, y1 = rois[:, 1] * scale, rois[:, 2] * scale
    width = (rois[:, 3] * scale - x1).clamp(min=1.0)
    height = (rois[:, 4] * scale - y1).clamp(min=1.0)
    ylo, yhi, ywl, ywh, yok = _axis_weights(y1, height, h, out, sr)
    xlo, xhi, xwl, xwh, xok = _axis_weights(x1, width, w, out, sr)
    # four bilinear corners of every (y sample, x sample) of every RoI: [R, S, S, 4]
    rows = torch.stack([ylo, ylo, yhi, yhi], -1)[:, :, None, :]
    cols = torch.stack([xlo, xhi, xlo, xhi], -1)[:, None, :, :]
    weight = torch.stack([ywl, ywl, ywh, ywh], -1)[:, :, None, :] * torch.stack([xwl, xwh, xwl, xwh], -1)[:, None, :, :]
    weight = weight * (yok[:, :, None] & xok[:, None, :])[..., None] / (sr * sr)
    pixel = rois[:, 0].long()[:, None, None, None] * (h * w) + rows * w + cols
    cell = torch.arange(s, device=rois.device) // sr
    bins = (torch.arange(r, device=rois.device)[:, None, None] * (out * out) + cell[None, :, None] * out + cell[None, None, :])
    bins = bins[..., None].expand(r, s, s, 4)
    matrix = torch.sparse_coo_tensor(
        torch.stack([pixel.reshape(-1), bins.reshape(-1)]), weight.reshape(-1).to(grad_out.dtype),
        (n * h * w, r * out * out), check_invariants=False,
    )
    grad: Tensor = torch.sparse.mm(matrix, grad_out.permute(0, 2, 3, 1).reshape(r * out * out, c))
    return grad.reshape(n, h, w, c).permute(0, 3, 1, 2)


class _RoIAlign(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, features: Tensor, rois: Tensor, out: int, scale: float, sr: int) -> Tensor:
        ctx.save_for_backward(rois)
        ctx.shape, ctx.scale, ctx.sr = features.shape, scale, sr
        pooled: Tensor = roi_align(features, rois, output_size=out, spatial_scale=scale, sampling_ratio=sr)
        return pooled

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        (rois,) = ctx.saved_tensors
        grad = roi_align_backward(grad_out.contiguous(), rois, ctx.shape, ctx.scale, ctx.sr)
        return grad, None, None, None, None


class FastMultiScaleRoIAlign(MultiScaleRoIAlign):  # type: ignore[misc]  # torchvision is untyped
    """torchvision's MultiScaleRoIAlign with the sparse backward above when gradients flow on a
    CPU; otherwise (inference, GPU, adaptive sampling) exactly torchvision's."""

    def forward(self, x: dict[str, Tensor], boxes: list[Tensor], image_shapes: list[tuple[int, int]]) -> Tensor:
        features = [v for k, v in x.items() if k in self.featmap_names]
        fast = (torch.is_grad_enabled() and self.sampling_ratio > 0 and features[0].device.type == "cpu"
                and features[0].requires_grad and self.output_size[0] == self.output_size[1])
        if not fast:
            reference: Tensor = super().forward(x, boxes, image_shapes)
            return reference
        scales: Any = getattr(self, "scales", None)  # set by the first call, as torchvision does
        mapper: Any = getattr(self, "map_levels", None)
        if scales is None or mapper is None:
            scales, mapper = _setup_scales(features, image_shapes, self.canonical_scale, self.canonical_level)
            self.scales, self.map_levels = scales, mapper
        rois = torch.cat([torch.cat([torch.full_like(b[:, :1], i), b], dim=1) for i, b in enumerate(boxes)])
        levels: Tensor = mapper(boxes)
        out = self.output_size[0]
        result = features[0].new_zeros((len(rois), features[0].shape[1], out, out))
        for level, (feature, scale) in enumerate(zip(features, scales)):
            index = torch.where(levels == level)[0]
            if len(index):
                result[index] = _RoIAlign.apply(feature, rois[index], out, float(scale), self.sampling_ratio).to(result.dtype)
        return result


def use_fast_roi_pools(model: torch.nn.Module) -> None:
    """Swap a torchvision R-CNN's RoI poolers for FastMultiScaleRoIAlign (no weights change)."""
    heads = getattr(model, "roi_heads", None)
    for name in ("box_roi_pool", "mask_roi_pool"):
        pool: Any = getattr(heads, name, None)
        if type(pool) is MultiScaleRoIAlign:
            fast = FastMultiScaleRoIAlign(list(pool.featmap_names), pool.output_size, pool.sampling_ratio,
                                          canonical_scale=pool.canonical_scale, canonical_level=pool.canonical_level)
            setattr(heads, name, fast)
