"""A FasterRCNN left on its defaults starts from the registry's ImageNet EfficientNet-Lite0, with
its backbone frozen for the first epoch, and comes back as a package that detects."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from backend.engine.dlpk.package import extract_dlpk
from backend.engine.nets.predictor import load_predictor
from backend.engine.training import TrainConfig, train
from backend.engine.training import loop as loop_module


def test_default_detector_trains_from_the_registry_start_and_loads_back(
    exports: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages: list[str] = []
    frozen: list[bool] = []
    real_step = loop_module._Trainer._step

    def spy(self: Any, images: Any, targets: Any) -> torch.Tensor:
        frozen.append(not any(p.requires_grad for p in self.backbone_params))
        return real_step(self, images, targets)

    monkeypatch.setattr(loop_module._Trainer, "_step", spy)
    config = TrainConfig(model_type="FasterRCNN", out_name="trees", max_epochs=2, batch_size=2,
                         learning_rate=2e-4, validation_percentage=25)
    result = train(config, exports("voc64"), tmp_path / "out", progress=lambda d, t, m: messages.append(m))
    assert any("efficientnet_lite0 starts from its ImageNet weights (the installed package" in m for m in messages)
    assert frozen[0] and not frozen[-1]  # epoch 1 frozen, epoch 2 not
    info = extract_dlpk(result.package_path, tmp_path / "x")
    assert info.emd.backbone_name == "efficientnet_lite0"
    predictor = load_predictor(tmp_path / "x", info.emd)
    chips = np.zeros((1, 3, 64, 64), dtype=np.uint8)
    assert len(predictor.detect(predictor.prepare(chips), 0.05, 0.1)) == 1
    history = json.loads((tmp_path / "out" / "trees" / "ModelCharacteristics" / "history.json").read_text())
    assert [row["epoch"] for row in history["epochs"]] == [1, 2]
