"""The engine's predictor protocol (inference.protocols.PredictorLike) over a model of another
framework: chips are scaled as the .emd says, run by a runtime (ONNX Runtime, TorchScript) and the
named outputs turned into the engine's detections, class probabilities or class indices.

Subclasses implement ``_run(x) -> {output name: array}`` and say whether the model takes one chip
at a time (``one_chip``: a fixed batch axis of 1, or detection outputs without a batch axis).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torchvision.ops import batched_nms

from backend.engine.dlpk.emd import Emd
from backend.engine.dlpk.emd_types import EmdClass
from backend.engine.errors import EngineError, EngineInputError
from backend.engine.nets.normalization import InputScaling, scaling_from_emd
from backend.engine.nets.predictor import Detections, band_indices, chip_size_of
from backend.engine.runtimes.modelio import ModelIO

DETECTION_FAMILIES = ("object_detection", "instance_detection")


@dataclass(frozen=True)
class PackageShape:
    """What the .emd promises: chip size, bands and classes."""

    chip_size: int
    extract_bands: tuple[int, ...]
    classes: tuple[EmdClass, ...]

    @classmethod
    def from_emd(cls, emd: Emd) -> PackageShape:
        if not emd.classes:
            raise EngineInputError("the .emd lists no Classes")
        return cls(chip_size_of(emd), band_indices(emd), tuple(emd.classes))


class RuntimePredictor:
    """Shared pre- and post-processing; see the module docstring."""

    one_chip = False

    def __init__(self, io: ModelIO, shape: PackageShape, scaling: InputScaling) -> None:
        self.io = io
        self.family = io.family
        self.chip_size = shape.chip_size
        self.extract_bands = shape.extract_bands
        self.classes = shape.classes
        self.scaling = scaling
        self.device = torch.device("cpu")

    @classmethod
    def scaling_for(cls, emd: Emd) -> InputScaling:
        return scaling_from_emd(emd)

    def _run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError

    # --- input ----------------------------------------------------------------------------------
    def prepare(self, chips: np.ndarray) -> torch.Tensor:
        if chips.ndim != 4 or chips.shape[1] != len(self.extract_bands):
            raise EngineInputError(
                f"expected chips shaped [batch, {len(self.extract_bands)} bands, height, width], "
                f"got {list(chips.shape)}"
            )
        x = torch.from_numpy(np.ascontiguousarray(chips))
        if self.io.scaling == "unit":
            return self.scaling.unit(x)
        if self.io.scaling == "normalized":
            return self.scaling.normalized(x)
        return x.float()

    def _outputs(self, batch: torch.Tensor) -> list[dict[str, np.ndarray]]:
        """Per chip: role -> array without the batch axis."""
        x = batch.detach().cpu().float().numpy()
        runs = [x[i : i + 1] for i in range(len(x))] if self.one_chip else [x]
        per_chip: list[dict[str, np.ndarray]] = []
        for chunk in runs:
            named = self._run(np.ascontiguousarray(chunk))
            got = {role: np.asarray(named[name]) for role, name in self.io.outputs.items()}
            per_chip.extend(self._split(got, len(chunk)))
        return per_chip

    def _split(self, got: dict[str, np.ndarray], n: int) -> list[dict[str, np.ndarray]]:
        batched = {"boxes": 3, "scores": 2, "labels": 2}
        if self.family in DETECTION_FAMILIES and got["boxes"].ndim == 2:
            if n != 1:
                raise EngineError(f"the model returned detections of one chip for {n} chips")
            return [got]
        for role, array in got.items():
            if role in batched and array.ndim != batched[role]:
                raise EngineError(f"output {self.io.outputs[role]!r} ({role}) has shape {list(array.shape)}")
            if len(array) != n:
                raise EngineError(f"the model returned {len(array)} results for {n} chips")
        return [{role: array[i] for role, array in got.items()} for i in range(n)]

    def _require(self, *families: str) -> None:
        if self.family not in families:
            raise EngineInputError(f"this package is a {self.family.replace('_', ' ')} model")

    # --- detection ------------------------------------------------------------------------------
    def _label_indices(self, labels: np.ndarray) -> np.ndarray:
        """Model labels -> 1-based indices into Classes (the engine's convention)."""
        labels = labels.astype(np.int64).reshape(-1)
        if self.io.labels == "index0":
            return labels + 1
        if self.io.labels == "value":
            index = {int(c.value): i + 1 for i, c in enumerate(self.classes)}
            return np.array([index.get(int(v), 0) for v in labels], dtype=np.int64)
        return labels

    def detect(self, batch: torch.Tensor, threshold: float, nms_overlap: float) -> list[Detections]:
        """Detections above ``threshold`` after per-class NMS at ``nms_overlap`` (in case the
        model's own NMS, fixed at export, is looser)."""
        self._require(*DETECTION_FAMILIES)
        results = []
        for out in self._outputs(batch):
            boxes = out["boxes"].astype(np.float32).reshape(-1, 4)
            scores = out["scores"].astype(np.float32).reshape(-1)
            labels = self._label_indices(out["labels"])
            keep = (scores >= threshold) & (labels >= 1) & (labels <= len(self.classes))
            idx = np.nonzero(keep)[0]
            if len(idx):
                kept = batched_nms(torch.from_numpy(boxes[idx]), torch.from_numpy(scores[idx]),
                                   torch.from_numpy(labels[idx]), float(nms_overlap)).numpy()
                idx = idx[kept][: self.io.max_detections]
            masks = None
            if self.family == "instance_detection" and "masks" in out:
                m = out["masks"]
                m = m[:, 0] if m.ndim == 4 else m
                masks = m[idx] > 0.5
            results.append(Detections(boxes[idx], scores[idx], labels[idx], masks))
        return results

    # --- pixel classification -------------------------------------------------------------------
    def segment(self, batch: torch.Tensor) -> np.ndarray:
        """[B, N+1, H, W] float32 class probabilities (index 0 = background)."""
        self._require("pixel_classification")
        n = len(self.classes)
        height, width = batch.shape[-2:]
        probs = []
        for out in self._outputs(batch):
            if "class_ids" in out:
                ids = out["class_ids"]
                ids = ids[0] if ids.ndim == 3 else ids
                index = self._label_indices(ids) if self.io.labels != "index1" else ids.reshape(-1)
                index = np.where((index >= 0) & (index <= n), index, 0).reshape(ids.shape)
                onehot = np.eye(n + 1, dtype=np.float32)[index].transpose(2, 0, 1)
                probs.append(torch.from_numpy(onehot))
                continue
            logits = torch.from_numpy(out["logits"].astype(np.float32))
            if logits.shape[0] == n:  # no background channel: background never wins
                logits = torch.cat([torch.full_like(logits[:1], -1e4), logits])
            if logits.shape[0] != n + 1:
                raise EngineError(f"the model returned {logits.shape[0]} class channels for {n} classes")
            probs.append(torch.softmax(logits, 0))
        out_t = torch.stack(probs)
        if tuple(out_t.shape[-2:]) != (height, width):
            out_t = torch.nn.functional.interpolate(out_t, size=(height, width), mode="bilinear",
                                                    align_corners=False)
        return out_t.numpy().astype(np.float32)

    # --- object classification ------------------------------------------------------------------
    def classify(self, batch: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(index into Classes [B] int64, confidence [B] float32)."""
        self._require("object_classification")
        rows = [out.get("logits", out.get("probabilities")) for out in self._outputs(batch)]
        scores = torch.from_numpy(np.stack([np.asarray(r, dtype=np.float32).reshape(-1) for r in rows]))
        if scores.shape[1] != len(self.classes):
            raise EngineError(f"the model returned {scores.shape[1]} scores for {len(self.classes)} classes")
        probs = scores if "probabilities" in self.io.outputs else torch.softmax(scores, 1)
        confidence, index = probs.max(1)
        return index.numpy().astype(np.int64), confidence.numpy().astype(np.float32)

