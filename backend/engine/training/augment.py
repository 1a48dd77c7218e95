"""Imagery augmentation: the 8 dihedral symmetries (flips and 90-degree rotations).

Map-space chips have no "up", so any flip or rotation is another valid sample; labels
(boxes, masks, class maps) are transformed with the image. Rotations need square chips.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Dihedral:
    """Rotate by `quarter_turns` x 90 degrees counter-clockwise, then flip left-right."""

    quarter_turns: int = 0
    flip: bool = False

    @staticmethod
    def random(rng: np.random.Generator, square: bool) -> Dihedral:
        return Dihedral(int(rng.integers(0, 4)) if square else 2 * int(rng.integers(0, 2)), bool(rng.integers(0, 2)))

    @property
    def identity(self) -> bool:
        return self.quarter_turns % 4 == 0 and not self.flip

    def image(self, x: torch.Tensor) -> torch.Tensor:
        """[..., H, W] images, masks or class maps."""
        if self.quarter_turns % 4:
            x = torch.rot90(x, self.quarter_turns, dims=(-2, -1))
        if self.flip:
            x = torch.flip(x, dims=(-1,))
        return x

    def boxes(self, boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """[N,4] xyxy boxes of an image of height x width (before the transform)."""
        b = boxes
        h, w = height, width
        for _ in range(self.quarter_turns % 4):
            # rot90 counter-clockwise: (x, y) -> (y, w - x); the image becomes w x h.
            b = torch.stack([b[:, 1], w - b[:, 2], b[:, 3], w - b[:, 0]], dim=1)
            h, w = w, h
        if self.flip:
            b = torch.stack([w - b[:, 2], b[:, 1], w - b[:, 0], b[:, 3]], dim=1)
        return b
