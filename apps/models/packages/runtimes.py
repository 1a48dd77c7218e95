"""ONNX and TorchScript packages in the catalog (issue 18): the file is opened and checked against
its .emd at upload (inputs/outputs kept in ``model_io``), and TorchScript only where an
administrator allows it (settings.ALLOW_TORCHSCRIPT, env RASTERLAB_ALLOW_TORCHSCRIPT)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from backend.api.exceptions import InvalidInput
from backend.engine.dlpk import Emd
from backend.engine.dlpk.runtimes import TORCHSCRIPT, TORCHSCRIPT_REFUSED, runtime_of
from backend.engine.errors import EngineInputError

from ..package_models import ModelPackage


def torchscript_allowed() -> bool:
    return bool(getattr(settings, "ALLOW_TORCHSCRIPT", False))


def refused(emd: Emd) -> str | None:
    """Why this server refuses to load the package's file at all (None: it may load it)."""
    if runtime_of(emd) == TORCHSCRIPT and not torchscript_allowed():
        return TORCHSCRIPT_REFUSED
    return None


def apply_policy(columns: dict[str, Any], emd: Emd) -> dict[str, Any]:
    """The catalog columns with this server's policy applied (TorchScript off: not runnable)."""
    reason = refused(emd)
    if reason is not None and columns.get("runnable"):
        return {**columns, "runnable": False, "runnable_reason": reason}
    return columns


def runnable_now(package: ModelPackage) -> tuple[bool, str]:
    """(runnable, why) under the current setting, for a TorchScript package stored under another."""
    if (package.framework or "").strip().lower() != TORCHSCRIPT:
        return package.runnable, package.runnable_reason
    from backend.engine.dlpk import model_family, parse_emd

    emd = parse_emd(package.emd)
    reason = refused(emd)
    if reason is not None:
        return False, reason
    family = model_family(emd)
    return family.runnable, family.reason


def check_model_file(folder: Path, emd: Emd) -> dict[str, Any]:
    """Open the extracted package's model with its runtime, check it against the .emd and run one
    chip of zeros; returns the signature (inputs/outputs) or raises InvalidInput naming both sides."""
    from backend.engine.runtimes.loader import load_runtime_model
    from backend.engine.runtimes.signature import dry_run

    try:
        predictor = load_runtime_model(folder, emd, "cpu", allow_torchscript=torchscript_allowed())
        dry_run(predictor)
    except EngineInputError as exc:
        raise InvalidInput(str(exc)) from exc
    signature: dict[str, Any] = getattr(predictor, "signature").to_json()
    return signature
