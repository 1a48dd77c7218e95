"""What a model file says about itself (inputs and outputs: names, shapes, types), and whether that
fits what its .emd promises (bands, chip size, classes). Messages name both sides."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from backend.engine.errors import EngineError, EngineInputError
from backend.engine.runtimes.predictor import DETECTION_FAMILIES, PackageShape, RuntimePredictor

Dim = int | str | None


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[Dim, ...]
    type: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "type": self.type}


@dataclass(frozen=True)
class ModelSignature:
    """Found in the file; ``io`` is the resolved ModelIO (role -> output name, scaling)."""

    runtime: str  # "onnx" | "torchscript"
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    io: dict[str, Any] = field(default_factory=dict)
    opset: int | None = None
    producer: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime, "opset": self.opset, "producer": self.producer,
            "inputs": [t.to_json() for t in self.inputs], "outputs": [t.to_json() for t in self.outputs],
            "io": self.io,
        }


def _show(shape: Sequence[Dim]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _fixed(d: Dim) -> int | None:
    return d if isinstance(d, int) and d > 0 else None


def check_input(info: TensorInfo, shape: PackageShape) -> None:
    """The image input is [batch, bands, height, width] and its fixed sizes match the .emd."""
    dims = info.shape
    if len(dims) != 4:
        raise EngineInputError(
            f"the model's input {info.name!r} has shape {_show(dims)}; Rasterlab feeds chips shaped "
            f"[batch, {len(shape.extract_bands)} bands, {shape.chip_size}, {shape.chip_size}]"
        )
    bands = _fixed(dims[1])
    if bands is not None and bands != len(shape.extract_bands):
        raise EngineInputError(
            f"the model's input {info.name!r} takes {bands} bands (shape {_show(dims)}) but the .emd's "
            f"ExtractBands lists {len(shape.extract_bands)} ({list(shape.extract_bands)})"
        )
    for axis, label in ((2, "height"), (3, "width")):
        size = _fixed(dims[axis])
        if size is not None and size != shape.chip_size:
            raise EngineInputError(
                f"the model's input {info.name!r} has {label} {size} (shape {_show(dims)}) but the .emd's "
                f"ImageHeight/ImageWidth is {shape.chip_size}"
            )


def check_outputs(outputs: dict[str, TensorInfo], io: dict[str, str], family: str, classes: int) -> None:
    """Fixed output sizes against the class count of the .emd (before any run)."""
    for role, name in io.items():
        dims = outputs[name].shape
        if role == "boxes" and dims and _fixed(dims[-1]) not in (None, 4):
            raise EngineInputError(f"output {name!r} (boxes) has shape {_show(dims)}; boxes are [N, 4] xyxy")
        if role in ("logits", "probabilities") and len(dims) >= 2:
            k = _fixed(dims[1])
            allowed = (classes, classes + 1) if family == "pixel_classification" else (classes,)
            if k is not None and k not in allowed:
                raise EngineInputError(
                    f"the model's output {name!r} ({role}) has {k} class channels (shape {_show(dims)}) "
                    f"but the .emd lists {classes} Classes "
                    f"(expected {' or '.join(str(a) for a in allowed)})"
                )


def dry_run(predictor: RuntimePredictor) -> None:
    """One chip of zeros through the predictor: output shapes the file did not fix must fit too."""
    chips = np.zeros((1, len(predictor.extract_bands), predictor.chip_size, predictor.chip_size), np.float32)
    try:
        batch = predictor.prepare(chips)
        if predictor.family in DETECTION_FAMILIES:
            predictor.detect(batch, 0.0, 1.0)
        elif predictor.family == "pixel_classification":
            predictor.segment(batch)
        else:
            predictor.classify(batch)
    except EngineError as exc:
        raise EngineInputError(f"a test chip through the model failed: {exc}") from exc
    except (RuntimeError, ValueError, IndexError, KeyError, torch.jit.Error) as exc:  # runtime errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EngineInputError(
            f"a test chip of {predictor.chip_size}x{predictor.chip_size} pixels and "
            f"{len(predictor.extract_bands)} bands (from the .emd) does not run through the model: {first[:300]}"
        ) from exc
