"""Learning-rate range test: raise the LR exponentially batch by batch and watch the loss.

The suggestion is a tenth of the LR at which the smoothed loss was lowest (the usual rule of
thumb: well before the loss blows up, still in the steep part). The model and optimizer are
restored afterwards, so the test leaves no trace on training.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

START_LR = 1e-6  # below this nothing trains; fewer steps wasted on CPU
END_LR = 1.0
MIN_SUGGESTION = 1e-6
MAX_SUGGESTION = 1e-2
SMOOTHING = 0.9


@dataclass(frozen=True)
class LrFinderResult:
    lrs: tuple[float, ...]
    losses: tuple[float, ...]  # smoothed
    suggestion: float


def find_lr(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Callable[[], Iterator[tuple[Any, Any]]],
    step: Callable[[Any, Any], torch.Tensor],
    steps: int,
    on_step: Callable[[int, int], None],
) -> LrFinderResult:
    """Run up to `steps` optimizer steps over `batches()` (restarted as needed).

    `step(images, targets)` does forward, backward and optimizer.step() and returns the loss;
    `on_step(done, total)` is called after each step (progress and cancellation).
    """
    model_state = copy.deepcopy(model.state_dict())
    opt_state = copy.deepcopy(optimizer.state_dict())
    factor = (END_LR / START_LR) ** (1.0 / max(steps - 1, 1))
    lrs: list[float] = []
    losses: list[float] = []
    avg, best = 0.0, math.inf
    iterator = batches()
    try:
        for i in range(steps):
            lr = START_LR * factor**i
            for group in optimizer.param_groups:
                group["lr"] = lr
            try:
                images, targets = next(iterator)
            except StopIteration:
                iterator = batches()
                images, targets = next(iterator)
            value = float(step(images, targets))
            on_step(i + 1, steps)
            if not math.isfinite(value):
                break
            avg = SMOOTHING * avg + (1 - SMOOTHING) * value
            smoothed = avg / (1 - SMOOTHING ** (i + 1))
            lrs.append(lr)
            losses.append(smoothed)
            best = min(best, smoothed)
            if i > 5 and smoothed > 4 * best:
                break
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(opt_state)
    return LrFinderResult(tuple(lrs), tuple(losses), suggest(lrs, losses))


def suggest(lrs: list[float], losses: list[float]) -> float:
    if not losses:
        return 1e-4
    lowest = min(range(len(losses)), key=losses.__getitem__)
    return float(min(max(lrs[lowest] / 10.0, MIN_SUGGESTION), MAX_SUGGESTION))
