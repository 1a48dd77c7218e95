"""What keeps a run from blowing up: the best weights so far, and rolling back to them.

A non-finite batch loss, or an epoch whose loss is far above the best epoch's, is a
divergence: the model goes back to the best weights (the starting weights before any epoch
finished), the optimizer forgets its moments, the learning-rate curve is cut and training
goes on. Each rollback is an event in the epoch's report (job log and package history);
after `max_rollbacks` the run fails with a message saying what to change.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from backend.engine.errors import EngineInputError
from backend.engine.training.schedule import Schedule

EXPLODE_FACTOR = 5.0  # an epoch loss this many times the best epoch's is a divergence
LR_CUT = 0.3


class Diverged(Exception):
    """Raised inside an epoch when a batch loss is not finite."""

    def __init__(self, loss: float) -> None:
        super().__init__(f"loss {loss}")
        self.loss = loss


@dataclass
class Score:
    """Higher is better: (mAP50, -loss) for detectors, whose validation loss (computed in train
    mode) says little about their detections; (0, -loss) for everything else."""

    metric: float
    loss: float

    def better_than(self, other: Score | None) -> bool:
        if other is None:
            return True
        return (self.metric, -self.loss) > (other.metric, -other.loss)


def score_of(metrics: dict[str, float], loss: float) -> Score:
    return Score(float(metrics.get("mAP50", 0.0)), loss)


class Guard:
    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, max_rollbacks: int) -> None:
        self.model, self.optimizer, self.max_rollbacks = model, optimizer, max_rollbacks
        self.best_state = _copy(model)  # the start, until an epoch does better
        self.best: Score | None = None
        self.best_epoch = 0
        self.best_train_loss = math.inf
        self.rollbacks = 0

    def exploded(self, train_loss: float, monitored_loss: float) -> bool:
        if not (math.isfinite(train_loss) and math.isfinite(monitored_loss)):
            return True
        return math.isfinite(self.best_train_loss) and train_loss > EXPLODE_FACTOR * self.best_train_loss

    def keep_if_best(self, epoch: int, score: Score, train_loss: float) -> bool:
        self.best_train_loss = min(self.best_train_loss, train_loss)
        if not score.better_than(self.best):
            return False
        self.best, self.best_epoch = score, epoch
        self.best_state = _copy(self.model)
        return True

    def roll_back(self, epoch: int, loss: float, schedule: Schedule) -> str:
        """Restore the best weights and lower the LR; returns the event text."""
        self.rollbacks += 1
        if self.rollbacks > self.max_rollbacks:
            raise EngineInputError(
                f"training diverged (loss {loss:.4g}) at epoch {epoch} again after "
                f"{self.max_rollbacks} rollbacks; lower learning_rate or batch_size, or check the labels"
            )
        self.model.load_state_dict(self.best_state)
        self.optimizer.state.clear()
        schedule.cut(LR_CUT)
        where = f"epoch {self.best_epoch}" if self.best_epoch else "the starting weights"
        return (f"epoch {epoch}: loss {loss:.4g} diverged; rolled back to {where} and lowered the "
                f"learning rate to {schedule.current():.2e} (x{LR_CUT})")


def _copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
