"""TorchScript packages (torch.jit.save). Loading TorchScript can run code the author wrote, so the
caller decides (an administrator's setting) before anything here opens the file.

The model takes a float batch [B, bands, H, W] and returns a tensor, a tuple/list of tensors
(outputs named "output0", "output1", ...) or a dict of tensors (outputs named by key). Nothing in the
file tells shapes in advance, so they are read from one chip of zeros.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from backend.engine.dlpk.emd import Emd
from backend.engine.errors import EngineInputError
from backend.engine.runtimes.modelio import resolve_io
from backend.engine.runtimes.predictor import PackageShape, RuntimePredictor
from backend.engine.runtimes.signature import ModelSignature, TensorInfo, check_input, check_outputs

INPUT_NAME = "input"


def _named(result: Any) -> dict[str, torch.Tensor]:
    if isinstance(result, torch.Tensor):
        return {"output": result}
    if isinstance(result, dict):
        return {str(k): v for k, v in result.items() if isinstance(v, torch.Tensor)}
    if isinstance(result, (tuple, list)):
        return {f"output{i}": v for i, v in enumerate(result) if isinstance(v, torch.Tensor)}
    raise EngineInputError(f"the TorchScript model returned {type(result).__name__}; return tensors, "
                           "a tuple of tensors or a dict of tensors")


class TorchScriptPredictor(RuntimePredictor):
    def __init__(self, path: Path, emd: Emd, device: str = "cpu") -> None:
        shape = PackageShape.from_emd(emd)
        target = torch.device(device)
        try:
            self.module = torch.jit.load(str(path), map_location=target).eval()  # type: ignore[no-untyped-call]
        except (RuntimeError, ValueError) as exc:
            raise EngineInputError(f"{path.name} is not a TorchScript model: {str(exc).splitlines()[0][:200]}") from None
        self.target = target
        probe = np.zeros((1, len(shape.extract_bands), shape.chip_size, shape.chip_size), np.float32)
        try:
            found = self._call(probe)
        except (RuntimeError, ValueError, IndexError, torch.jit.Error) as exc:
            raise EngineInputError(
                f"a test chip of {shape.chip_size}x{shape.chip_size} pixels and {len(shape.extract_bands)} "
                f"bands (from the .emd) does not run through the TorchScript model: "
                f"{str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__}"
            ) from None
        outputs = [TensorInfo(k, tuple(v.shape), f"tensor({str(v.dtype).removeprefix('torch.')})")
                   for k, v in found.items()]
        inputs = [TensorInfo(INPUT_NAME, (None, len(shape.extract_bands), shape.chip_size, shape.chip_size),
                             "tensor(float)")]
        io = resolve_io(emd, [INPUT_NAME], [o.name for o in outputs])
        check_input(inputs[0], shape)
        check_outputs({o.name: o for o in outputs}, dict(io.outputs), io.family, len(shape.classes))
        super().__init__(io, shape, self.scaling_for(emd))
        boxes = io.outputs.get("boxes")
        self.one_chip = boxes is not None and found[boxes].ndim == 2
        self.signature = ModelSignature("torchscript", tuple(inputs), tuple(outputs), io.to_json())

    def _call(self, x: np.ndarray) -> dict[str, torch.Tensor]:
        with torch.inference_mode():
            return _named(self.module(torch.from_numpy(x).to(self.target)))

    def _run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        return {k: v.detach().float().cpu().numpy() if v.is_floating_point() else v.cpu().numpy()
                for k, v in self._call(x).items()}
