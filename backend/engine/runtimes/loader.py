"""Pick the runtime a package needs from its .emd Framework: ONNX, TorchScript (only when the caller
allows it), else Rasterlab's own PyTorch architectures (nets.predictor)."""
from __future__ import annotations

from pathlib import Path

from backend.engine.dlpk.emd import Emd
from backend.engine.dlpk.runtimes import ONNX, TORCHSCRIPT, TORCHSCRIPT_REFUSED, runtime_of
from backend.engine.errors import EngineInputError
from backend.engine.inference.protocols import PredictorLike
from backend.engine.nets.predictor import load_predictor, weights_path
from backend.engine.runtimes.predictor import RuntimePredictor


def load_runtime_model(model_dir: Path, emd: Emd, device: str = "cpu",
                       allow_torchscript: bool = False) -> RuntimePredictor:
    """The ONNX or TorchScript predictor of an extracted package (checked against its .emd)."""
    runtime = runtime_of(emd)
    path = weights_path(Path(model_dir), emd)
    if runtime == ONNX:
        from backend.engine.runtimes.onnx_model import OnnxPredictor

        return OnnxPredictor(path, emd, device)
    if runtime == TORCHSCRIPT:
        if not allow_torchscript:
            raise EngineInputError(TORCHSCRIPT_REFUSED)
        from backend.engine.runtimes.torchscript_model import TorchScriptPredictor

        return TorchScriptPredictor(path, emd, device)
    raise EngineInputError(f"Framework {emd.framework!r} is not ONNX or TorchScript")


def load_any_predictor(model_dir: Path, emd: Emd, device: str = "cpu",
                       allow_torchscript: bool = False) -> PredictorLike:
    """Any runnable package: ONNX / TorchScript through their runtimes, the rest as PyTorch."""
    if runtime_of(emd) is not None:
        return load_runtime_model(model_dir, emd, device, allow_torchscript)
    return load_predictor(Path(model_dir), emd, device)
