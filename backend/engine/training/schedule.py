"""Learning-rate schedule over a total number of steps that may be re-estimated mid-run.

A time budget only tells after a few batches how many epochs fit, so the schedule is a function
of the fraction of steps done rather than a fixed torch scheduler. "one_cycle": linear warm-up
over the first 30% from lr/25, then cosine down to lr/1e4 (OneCycleLR's shape); "cosine":
cosine from lr down to lr/1e4. `scale` lowers the whole curve after a divergence.
"""
from __future__ import annotations

import math

import torch

WARMUP = 0.3
START_DIV = 25.0
FINAL_DIV = 1e4


class Schedule:
    def __init__(self, optimizer: torch.optim.Optimizer, lr: float, total_steps: int, kind: str) -> None:
        self.optimizer, self.lr, self.kind = optimizer, lr, kind
        self.total = max(total_steps, 1)
        self.done = 0
        self.scale = 1.0
        self._apply()

    def lr_at(self, step: int) -> float:
        t = min(step / self.total, 1.0)
        floor = self.lr / FINAL_DIV
        if self.kind == "one_cycle" and t < WARMUP:
            start = self.lr / START_DIV
            value = start + (self.lr - start) * t / WARMUP
        else:
            begin = WARMUP if self.kind == "one_cycle" else 0.0
            u = (t - begin) / (1.0 - begin)
            value = floor + (self.lr - floor) * 0.5 * (1 + math.cos(math.pi * u))
        return value * self.scale

    def current(self) -> float:
        return self.lr_at(self.done)

    def past_half_decay(self) -> bool:
        """Whether the decay has brought the rate down to half its peak (or below)."""
        begin = WARMUP if self.kind == "one_cycle" else 0.0
        return self.done / self.total >= begin + (1.0 - begin) / 2

    def step(self) -> None:
        self.done += 1
        self._apply()

    def set_total(self, total_steps: int) -> None:
        self.total = max(total_steps, self.done + 1)
        self._apply()

    def cut(self, factor: float) -> None:
        self.scale *= factor
        self._apply()

    def _apply(self) -> None:
        lr = self.current()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
