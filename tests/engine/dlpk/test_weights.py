from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from backend.engine.dlpk.weights import load_state_dict
from backend.engine.errors import EngineInputError


class _Payload:
    """Unpickling this calls open(path, "w"): proof that the pickle would run code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def test_plain_state_dict(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    path = tmp_path / "m.pth"
    torch.save(model.state_dict(), path)
    state = load_state_dict(path)
    assert list(state) == ["weight", "bias"]
    assert torch.equal(state["weight"], model.weight.detach())
    assert state["weight"].device.type == "cpu"


def test_fastai_state_with_optimizer(tmp_path: Path) -> None:
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    path = tmp_path / "m.pth"
    torch.save({"model": model.state_dict(), "opt": optimizer.state_dict()}, path)
    assert set(load_state_dict(path)) == {"weight", "bias"}


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("how", ["torch.save", "pickle.dump"])
def test_malicious_pickle_is_refused_without_running(how: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    payload = {"weight": _Payload(marker)}
    if how == "torch.save":
        torch.save(payload, path)
    else:
        with open(path, "wb") as handle:
            pickle.dump(payload, handle)
    with pytest.raises(EngineInputError, match="weights must be a plain state_dict"):
        load_state_dict(path)
    assert not marker.exists()
    # The payload is real: an ordinary unpickling of the same bytes would have run it.
    if how == "pickle.dump":
        pickle.loads(path.read_bytes().replace(b"pwned", b"proof"))["weight"].close()
        assert (tmp_path / "proof").exists()


def test_pickled_module_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "module.pth"
    torch.save(nn.Linear(2, 2), path)
    with pytest.raises(EngineInputError, match="module.pth: weights must be a plain state_dict"):
        load_state_dict(path)


@pytest.mark.parametrize(
    "obj",
    [torch.zeros(3), {}, {"weight": [1, 2]}, {1: torch.zeros(1)}, {"model": {}, "opt": None}],
    ids=["tensor", "empty", "list value", "int key", "empty fastai"],
)
def test_other_content_is_refused(obj: Any, tmp_path: Path) -> None:
    path = tmp_path / "x.pth"
    torch.save(obj, path)
    with pytest.raises(EngineInputError, match="plain state_dict"):
        load_state_dict(path)


def test_damaged_or_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.pth"
    path.write_bytes(b"not a torch file")
    with pytest.raises(EngineInputError, match="could not be read safely"):
        load_state_dict(path)
    with pytest.raises(EngineInputError, match="not found"):
        load_state_dict(tmp_path / "missing.pth")
