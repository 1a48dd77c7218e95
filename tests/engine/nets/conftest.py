"""Shared set-up: few threads, an empty torch hub (no cached checkpoint is used) and no downloads."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def empty_torch_hub(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    hub = tmp_path_factory.mktemp("torch_home") / "hub"
    monkeypatch.setattr(torch.hub, "_hub_dir", str(hub))
    monkeypatch.setenv("RASTERLAB_OFFLINE", "1")  # no test ever downloads
    return hub
