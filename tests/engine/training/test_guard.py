"""Training that cannot blow up: rollbacks, LR cuts, clipping, schedules, budgets, recipes."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from backend.engine.errors import EngineInputError
from backend.engine.metrics import TrueObjects, detection_scores
from backend.engine.nets.catalog import arch_spec
from backend.engine.training import EpochReport, TrainConfig, train
from backend.engine.training import loop as loop_module
from backend.engine.training.recipes import clip_lr, recipe_for, training_backbone
from backend.engine.training.schedule import Schedule
from backend.engine.training.tasks import Evaluation, Predicted


def _config(**kw: Any) -> TrainConfig:
    base: dict[str, Any] = dict(model_type="FeatureClassifier", backbone="resnet18", out_name="g", max_epochs=4,
                                batch_size=4, learning_rate=1e-4, validation_percentage=25, stop_training=False)
    return TrainConfig(**{**base, **kw})


def test_a_diverged_epoch_rolls_back_lowers_the_lr_and_goes_on(
    exports: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    losses = iter([1.0, math.nan, 0.8, 0.7])
    real = loop_module.evaluate

    def nan_once(*args: Any, **kwargs: Any) -> Evaluation:
        evaluation = real(*args, **kwargs)
        evaluation.loss = next(losses)
        return evaluation

    monkeypatch.setattr(loop_module, "evaluate", nan_once)
    reports: list[EpochReport] = []
    messages: list[str] = []
    result = train(_config(), exports("labeled64"), tmp_path / "out", on_epoch=reports.append,
                   progress=lambda d, t, m: messages.append(m))
    assert result.epochs_run == 4 and result.best_epoch == 4
    assert reports[1].events and "rolled back to epoch 1" in reports[1].events[0]
    assert reports[2].lr < reports[0].lr  # the curve was cut by 0.3 (and still anneals)
    assert any("rolled back" in m for m in messages)
    history = json.loads((tmp_path / "out" / "g" / "ModelCharacteristics" / "history.json").read_text())
    assert history["epochs"][1]["valid_loss"] is None and "rolled back" in history["epochs"][1]["events"][0]


def test_a_run_that_keeps_diverging_fails_with_advice(exports: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = loop_module.evaluate

    def always_nan(*args: Any, **kwargs: Any) -> Evaluation:
        evaluation = real(*args, **kwargs)
        evaluation.loss = math.nan
        return evaluation

    monkeypatch.setattr(loop_module, "evaluate", always_nan)
    with pytest.raises(EngineInputError, match="after 2 rollbacks; lower learning_rate"):
        train(_config(max_rollbacks=2), exports("labeled64"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_gradients_are_clipped(exports: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    norms: list[float] = []
    real = torch.nn.utils.clip_grad_norm_

    def spy(params: Any, max_norm: float, *a: Any, **k: Any) -> torch.Tensor:
        norms.append(max_norm)
        return real(params, max_norm, *a, **k)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    train(_config(max_epochs=1), exports("labeled64"), tmp_path / "out")
    assert norms and norms[0] == recipe_for(arch_spec("FeatureClassifier"), False).clip_norm


def test_time_budget_stops_starting_epochs(exports: Any, tmp_path: Path) -> None:
    result = train(_config(max_epochs=50, time_budget_s=0.01), exports("labeled64"), tmp_path / "out")
    assert result.epochs_run == 1


def test_one_cycle_schedule_warms_up_anneals_and_can_be_cut() -> None:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule = Schedule(opt, 1e-3, 100, "one_cycle")
    assert schedule.lr_at(0) == pytest.approx(1e-3 / 25)
    assert schedule.lr_at(30) == pytest.approx(1e-3)
    assert schedule.lr_at(100) == pytest.approx(1e-7)
    assert schedule.lr_at(60) < schedule.lr_at(40)
    schedule.set_total(200)  # a time budget re-estimated the run
    assert schedule.lr_at(60) == pytest.approx(1e-3)
    schedule.cut(0.3)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.3 * 1e-3 / 25)
    assert Schedule(opt, 1e-3, 10, "cosine").lr_at(0) == pytest.approx(1e-3)


@pytest.mark.parametrize("kind, first_step", [("one_cycle", 65), ("cosine", 50)])
def test_schedule_says_when_the_rate_has_decayed_to_half_its_peak(kind: str, first_step: int) -> None:
    """Early stopping waits for this point: a plateau at a high rate is not convergence."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule = Schedule(opt, 1e-3, 100, kind)
    for _ in range(first_step - 1):
        schedule.step()
    assert not schedule.past_half_decay() and schedule.current() > 0.5e-3
    schedule.step()
    assert schedule.past_half_decay() and schedule.current() == pytest.approx(0.5e-3, rel=1e-3)


def test_recipes() -> None:
    faster = arch_spec("FasterRCNN")
    assert training_backbone(faster) == "efficientnet_lite0"
    assert training_backbone(arch_spec("UnetClassifier")) == "resnet34"
    pretrained = recipe_for(faster, True)
    assert pretrained.freeze_epochs == 1 and recipe_for(faster, False).freeze_epochs == 0
    assert clip_lr(pretrained, 0.5) == pretrained.lr_range[1]
    assert clip_lr(pretrained, None) == pretrained.lr


def test_instance_metrics_when_the_model_predicts_nothing() -> None:
    """A MaskRCNN that predicts nothing scored 0 instead of crashing (reshape of size 0)."""
    empty = Predicted(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64),
                      np.zeros((0, 32, 32), bool))
    masks = np.zeros((1, 32, 32), bool)
    masks[0, 4:12, 4:12] = True
    truth = TrueObjects(np.array([[4.0, 4.0, 12.0, 12.0]]), np.array([1]), masks)
    scores = detection_scores([empty], [truth], 1, iou_type="segm")
    assert scores.per_class[1].ap50 == 0.0 and scores.per_class[1].recall == 0.0
