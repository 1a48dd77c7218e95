"""Write the trained model folder and its .dlpk.

<out_dir>/<out_name>/
    <out_name>.emd, <out_name>.pth (plain state_dict)
    ModelCharacteristics/loss_graph.png, show_results.png (and lr_finder.png when searched)
    <out_name>.dlpk  (the folder's other files at the archive root, as arcgis.learn does)
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from backend.engine.dlpk.emd import parse_emd
from backend.engine.dlpk.package import write_dlpk
from backend.engine.training.config import EpochReport
from backend.engine.training.plots import loss_graph, show_results
from backend.engine.training.tasks import Example

CHARACTERISTICS = "ModelCharacteristics"


def characteristics_dir(model_dir: Path) -> Path:
    return model_dir / CHARACTERISTICS


def write_history(history: Sequence[EpochReport], path: Path) -> None:
    """Every epoch's losses, metrics and learning rate, and what the guard did (rollbacks)."""
    rows = [
        {"epoch": r.epoch, "train_loss": _json_float(r.train_loss), "valid_loss": _json_float(r.valid_loss),
         "metrics": {k: _json_float(v) for k, v in r.metrics.items()}, "lr": r.lr,
         "seconds": round(r.seconds, 2), "events": list(r.events)}
        for r in history
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"epochs": rows}, indent=1) + "\n", encoding="utf-8")


def _json_float(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def write_package(
    model_dir: Path,
    out_name: str,
    model: nn.Module,
    emd: dict[str, Any],
    history: Sequence[EpochReport],
    examples: Sequence[Example],
    family: str,
    class_names: Sequence[str],
    class_colors: Sequence[tuple[int, int, int]] | None = None,
) -> Path:
    """Write the folder's files and zip them; returns the .dlpk path."""
    parse_emd(emd)  # never write an emd our own reader refuses
    (model_dir / f"{out_name}.emd").write_text(json.dumps(emd, indent=4) + "\n", encoding="utf-8")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, model_dir / f"{out_name}.pth")
    loss_graph(history, characteristics_dir(model_dir) / "loss_graph.png")
    write_history(history, characteristics_dir(model_dir) / "history.json")
    show_results(
        examples, family, class_names, characteristics_dir(model_dir) / "show_results.png", class_colors
    )
    return write_dlpk(model_dir, model_dir / f"{out_name}.dlpk")
