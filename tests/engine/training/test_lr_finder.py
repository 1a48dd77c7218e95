"""LR range test: leaves the model untouched and suggests a rate below the divergence."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from backend.engine.training.lr_finder import find_lr, suggest


def test_range_test_restores_the_model_and_suggests_a_sane_rate() -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(64, 4) * 10  # diverges for lr above ~1e-2
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
    before = {k: v.clone() for k, v in model.state_dict().items()}

    def batches() -> Iterator[tuple[Any, Any]]:
        return iter([(x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)])

    def step(images: Any, targets: Any) -> torch.Tensor:
        loss = torch.nn.functional.mse_loss(model(images), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.detach()

    calls: list[int] = []
    result = find_lr(model, optimizer, batches, step, steps=80, on_step=lambda d, t: calls.append(d))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert optimizer.param_groups[0]["lr"] == 0.1
    assert 5 < len(result.lrs) < 80  # stopped once the loss blew up
    assert calls[:3] == [1, 2, 3]
    assert 1e-6 <= result.suggestion <= 1e-2
    assert result.suggestion == suggest(list(result.lrs), list(result.losses))


def test_suggestion_is_a_tenth_of_the_best_rate() -> None:
    assert suggest([1e-5, 1e-4, 1e-3, 1e-2], [3.0, 2.0, 1.0, 5.0]) == 1e-4
    assert suggest([], []) == 1e-4
