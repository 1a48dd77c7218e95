"""Shared set-up: few threads, and an empty torch hub so no cached checkpoint is ever used."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def empty_torch_hub(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    hub = tmp_path_factory.mktemp("torch_home") / "hub"
    monkeypatch.setattr(torch.hub, "_hub_dir", str(hub))
    return hub
