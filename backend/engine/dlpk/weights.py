"""Safe loading of model weights from a package.

Only `torch.load(..., weights_only=True)` is used: its unpickler accepts tensors and plain
containers and refuses any other global, so a hostile .pth cannot run code. The result must be
a state_dict (names -> tensors), either bare or as fastai v1 saves it with the optimizer
(`{"model": state_dict, "opt": ...}`).
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from backend.engine.errors import EngineInputError

_PLAIN = "weights must be a plain state_dict (parameter names -> tensors) saved with torch.save"


def _as_state_dict(obj: Any) -> dict[str, torch.Tensor] | None:
    if not isinstance(obj, Mapping) or not obj:
        return None
    if "model" in obj and set(obj) <= {"model", "opt"}:  # fastai Learner.save(with_opt=True)
        return _as_state_dict(obj["model"])
    if all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        return dict(obj)
    return None


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Load a state_dict on the CPU; raises EngineInputError for anything else (a pickled
    module, a pickle that references code, a TorchScript archive, a damaged file)."""
    path = Path(path)
    if not path.is_file():
        raise EngineInputError(f"weights file {path.name!r} not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure means "not a safe state_dict"
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EngineInputError(f"{path.name}: {_PLAIN}; it could not be read safely "
                               f"({first_line[:200]})") from None
    state = _as_state_dict(obj)
    if state is None:
        raise EngineInputError(f"{path.name}: {_PLAIN}; found {type(obj).__name__}")
    return state
