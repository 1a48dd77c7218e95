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


@pytest.fixture(scope="session")
def exports(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Build (once per session) and read tiny export folders: exports(key) -> TrainingFolder."""
    from backend.engine.chips.reader import read_training_folder
    from tests.engine.training.exports import write_export

    base = tmp_path_factory.mktemp("exports")
    recipes = {
        "voc64": {"fmt": "PASCAL_VOC_rectangles", "chip": 64, "max_chips": 4},
        "voc64_fixed": {"fmt": "PASCAL_VOC_rectangles", "chip": 64, "max_chips": 4, "image_space": "PIXEL_SPACE"},
        "tiles64_4band": {"fmt": "Classified_Tiles", "chip": 64, "max_chips": 4, "extra_band": True},
        "masks64": {"fmt": "RCNN_Masks", "chip": 64, "max_chips": 3},
        "labeled64": {"fmt": "Labeled_Tiles", "raster": "SOAP_061", "chip": 64, "max_chips": 8},
        "labeled64_new_classes": {
            "fmt": "Labeled_Tiles", "raster": "SOAP_061", "chip": 64, "max_chips": 8,
            "classes": [(2, "Alive", [0, 200, 0]), (1, "Dead", [200, 120, 0]), (7, "Snag", [90, 90, 90])],
        },
    }
    cache: dict[str, object] = {}

    def get(key: str):  # type: ignore[no-untyped-def]
        if key not in cache:
            cache[key] = read_training_folder(write_export(base / key, **recipes[key]))  # type: ignore[arg-type]
        return cache[key]

    return get
