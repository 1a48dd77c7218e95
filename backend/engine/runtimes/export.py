"""Export a Rasterlab (PyTorch) package to an ONNX package: the same .emd pointing at a .onnx
file, with a ModelIO object naming its outputs, checked against the PyTorch model on test chips.

Detectors (torchvision Faster R-CNN, RetinaNet, SSD, Mask R-CNN) are exported with their own
pre- and post-processing (normalisation, resize, box decoding, score threshold SCORE_FLOOR; box
detectors without NMS or cap, which the engine applies with the job's nms_overlap and
max_detections, Mask R-CNN with per-class NMS at EXPORT_NMS) for one chip of the package's chip size: input ``images`` [1, bands,
H, W] scaled 0..1, outputs ``boxes`` [N,4], ``scores`` [N], ``labels`` [N] (1..classes) and, for
Mask R-CNN, ``masks`` [N,1,H,W]. The engine feeds such a model one chip at a time and applies the
job's threshold and NMS on top. Pixel and object classifiers take a dynamic batch of normalised
chips and return ``logits``.
"""
from __future__ import annotations

import copy
import json
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from backend.engine.dlpk.emd import Emd, emd_to_dict
from backend.engine.errors import EngineInputError
from backend.engine.nets.detection import DETECTIONS_PER_IMAGE, set_detector_thresholds
from backend.engine.nets.predictor import TorchPredictor, load_predictor
from backend.engine.runtimes.modelio import METADATA_KEY, MODEL_IO_KEY
from backend.engine.runtimes.onnx_model import OnnxPredictor
from backend.engine.runtimes.predictor import DETECTION_FAMILIES

OPSET = 17
SCORE_FLOOR = 0.01  # detections below this never leave the exported detector
EXPORT_NMS = 0.5  # Mask R-CNN's own per-class NMS; the job's nms_overlap applies on top
UNCAPPED = 1_000_000
# Agreement required between the ONNX and PyTorch packages on the test chips (float32 on CPU):
PROB_TOLERANCE = 1e-3  # class probabilities (pixel and object classifiers)
SCORE_TOLERANCE = 5e-3  # detection scores: measured ~1e-3 on a ResNet-50 Faster R-CNN at 256 px
BOX_TOLERANCE = 0.25  # pixels (measured < 0.04 on the same)
_DROP_KEYS = ("ModelConfiguration", "InferenceFunction", "ModelFileConfigurationClass")


class _Detector(nn.Module):
    def __init__(self, model: nn.Module, masks: bool) -> None:
        super().__init__()
        self.model, self.masks = model, masks

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(list(x))[0]
        found = (out["boxes"], out["scores"], out["labels"])
        return (*found, out["masks"]) if self.masks else found


class _Dense(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        logits: torch.Tensor = out["out"] if isinstance(out, dict) else out
        return logits


@contextmanager
def _uncapped(model: nn.Module, family: str) -> Iterator[None]:
    """Box detectors exported without their per-image cap (the engine applies it after NMS)."""
    target = getattr(model, "roi_heads", None) or model
    cap = getattr(target, "detections_per_img", None)
    if family == "object_detection" and cap is not None:
        setattr(target, "detections_per_img", UNCAPPED)
    try:
        yield
    finally:
        if cap is not None:
            setattr(target, "detections_per_img", cap)


@dataclass(frozen=True)
class ExportResult:
    folder: Path
    onnx_file: Path
    emd: dict[str, Any]
    max_prob_diff: float  # classes: probabilities; detectors: scores
    max_box_diff: float  # detectors only (pixels), else 0
    chips: int


def _wrapper(predictor: TorchPredictor) -> tuple[nn.Module, list[str], dict[str, Any]]:
    family = predictor.family
    if family in DETECTION_FAMILIES:
        masks = family == "instance_detection"
        # Box detectors leave NMS and the per-chip cap to the engine, so the job's nms_overlap gives
        # what the PyTorch model gives; Mask R-CNN keeps its own (a mask per candidate is too big).
        set_detector_thresholds(predictor.model, SCORE_FLOOR, EXPORT_NMS if masks else 1.0)
        names = ["boxes", "scores", "labels", *(["masks"] if masks else [])]
        io = {"scaling": "unit", "labels": "index1", "outputs": {n: n for n in names},
              "max_detections": DETECTIONS_PER_IMAGE}
        return _Detector(predictor.model, masks).eval(), names, io
    role = "logits"
    io = {"scaling": "normalized", "labels": "index1", "outputs": {role: role}}
    return _Dense(predictor.model).eval(), [role], io


def export_onnx_package(model_dir: Path, emd: Emd, out_dir: Path, name: str,
                        check_chips: int = 2, seed: int = 0) -> ExportResult:
    """Write ``out_dir`` (must not exist) with ``<name>.emd`` and ``<name>.onnx``."""
    import onnx

    predictor = load_predictor(Path(model_dir), emd, "cpu")
    assert isinstance(predictor, TorchPredictor)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True)
    try:
        module, names, io = _wrapper(predictor)
        size, bands = predictor.chip_size, len(predictor.extract_bands)
        example = torch.rand(1, bands, size, size)
        onnx_file = out_dir / f"{name}.onnx"
        dynamic = None if predictor.family in DETECTION_FAMILIES else {
            "images": {0: "batch"}, **{n: {0: "batch"} for n in names}}
        with warnings.catch_warnings(), torch.no_grad(), _uncapped(predictor.model, predictor.family):
            warnings.simplefilter("ignore")  # tracer warnings about data-dependent shapes
            torch.onnx.export(module, (example,), str(onnx_file), dynamo=False, opset_version=OPSET,
                              input_names=["images"], output_names=names, dynamic_axes=dynamic)
        model = onnx.load(str(onnx_file))
        entry = model.metadata_props.add()
        entry.key, entry.value = METADATA_KEY, json.dumps(io)
        onnx.save_model(model, str(onnx_file), save_as_external_data=False)
        new_emd = _onnx_emd(emd, onnx_file.name, io)
        (out_dir / f"{name}.emd").write_text(json.dumps(new_emd, indent=4) + "\n", encoding="utf-8")
        from backend.engine.dlpk.emd import parse_emd

        onnx_predictor = OnnxPredictor(onnx_file, parse_emd(new_emd))
        chips = sample_chips(predictor, check_chips, seed)
        prob, box = compare_predictors(predictor, onnx_predictor, chips)
        allowed = tolerance(predictor.family)
        if prob > allowed or box > BOX_TOLERANCE:
            raise EngineInputError(
                f"the ONNX model does not agree with the PyTorch model on test chips (largest difference: "
                f"{prob:.2e} in scores, {box:.2e} px in boxes; allowed {allowed}, {BOX_TOLERANCE})"
            )
        return ExportResult(out_dir, onnx_file, new_emd, prob, box, len(chips))
    except BaseException:
        shutil.rmtree(out_dir, ignore_errors=True)
        raise


def tolerance(family: str) -> float:
    """Largest score/probability difference an export may show against its PyTorch model."""
    return SCORE_TOLERANCE if family in DETECTION_FAMILIES else PROB_TOLERANCE


def _onnx_emd(emd: Emd, onnx_name: str, io: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(emd_to_dict(emd))
    for key in _DROP_KEYS:
        data.pop(key, None)
    params = dict(data.get("ModelParameters") or {})
    params.pop("rasterlab_arch", None)  # the architecture is not rebuilt any more
    if params:
        data["ModelParameters"] = params
    else:
        data.pop("ModelParameters", None)
    data["Framework"] = "ONNX"
    data["ModelFile"] = onnx_name
    data[MODEL_IO_KEY] = io
    data["ExportedFrom"] = {"Framework": emd.framework, "ModelName": emd.model_name,
                            "rasterlab_arch": emd.rasterlab_arch, "backbone": emd.backbone_name}
    return data


def sample_chips(predictor: Any, count: int, seed: int = 0) -> np.ndarray:
    """Random raw chips in the package's value range (0..255 for 8-bit RGB, band min..max else)."""
    rng = np.random.default_rng(seed)
    bands, size = len(predictor.extract_bands), predictor.chip_size
    scaling = predictor.scaling
    lo = np.array(scaling.band_min or [0.0] * bands, dtype=np.float32).reshape(1, -1, 1, 1)
    hi = np.array(scaling.band_max or [255.0] * bands, dtype=np.float32).reshape(1, -1, 1, 1)
    return (lo + rng.random((count, bands, size, size), dtype=np.float32) * (hi - lo)).astype(np.float32)


def compare_predictors(a: Any, b: Any, chips: np.ndarray,
                       threshold: float = SCORE_FLOOR) -> tuple[float, float]:
    """Largest (probability or score, box px) difference between two predictors on ``chips``.

    Each detection of ``a`` is paired with the detection of ``b`` of the same class whose box is
    nearest; detections scoring within 0.01 of ``threshold`` (one model may drop them) are left out.
    """
    family = a.family
    if family in DETECTION_FAMILIES:
        prob = box = 0.0
        for chip in chips:
            one = chip[None]
            da = a.detect(a.prepare(one), threshold, EXPORT_NMS)[0]
            db = b.detect(b.prepare(one), threshold, EXPORT_NMS)[0]
            for i in np.nonzero(da.scores >= threshold + 0.01)[0]:
                same = np.nonzero(db.labels == da.labels[i])[0]
                if not len(same):
                    return 1.0, float("inf")
                dist = np.abs(db.boxes[same] - da.boxes[i]).max(1)
                j = same[int(dist.argmin())]
                box = max(box, float(dist.min()))
                prob = max(prob, abs(float(da.scores[i]) - float(db.scores[j])))
        return prob, box
    if family == "pixel_classification":
        return float(np.abs(a.segment(a.prepare(chips)) - b.segment(b.prepare(chips))).max()), 0.0
    index_a, conf_a = a.classify(a.prepare(chips))
    index_b, conf_b = b.classify(b.prepare(chips))
    if not np.array_equal(index_a, index_b):
        return 1.0, 0.0  # a different class is as far apart as probabilities get
    return float(np.abs(conf_a - conf_b).max()), 0.0
