"""Predictors: a loaded package ready to run on chips (used by the inference engine).

`load_predictor(model_dir, emd)` rebuilds the architecture from the emd (Rasterlab packages via
`ModelParameters.rasterlab_arch`, arcgis.learn MaskRCNN / FasterRCNN / FeatureClassifier
packages via ModelName/ModelConfiguration and their torchvision / fastai-v1 layouts) and loads
the weights. Every call runs under `torch.inference_mode()`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from backend.engine.dlpk.emd import Emd
from backend.engine.dlpk.emd_types import EmdClass
from backend.engine.dlpk.families import architecture, model_family
from backend.engine.dlpk.weights import load_state_dict
from backend.engine.errors import EngineInputError
from backend.engine.nets.backbones import adapt_first_conv
from backend.engine.nets.build import build_model
from backend.engine.nets.catalog import (
    INSTANCE_DETECTION,
    OBJECT_CLASSIFICATION,
    PIXEL_CLASSIFICATION,
    ArchSpec,
    arch_spec,
)
from backend.engine.nets.detection import set_detector_thresholds
from backend.engine.nets.normalization import InputScaling, scaling_from_emd
from backend.engine.nets.segmentation import LegacyUnet


@dataclass(frozen=True)
class Detections:
    """Detections in one chip."""

    boxes: np.ndarray  # [N,4] float32 xyxy in chip pixel coordinates
    scores: np.ndarray  # [N] float32 0..1
    labels: np.ndarray  # [N] int64 model output index (1..N; Emd.classes[label-1])
    masks: np.ndarray | None  # [N,H,W] bool (instance models) or None


class Predictor(Protocol):
    family: str  # "object_detection" | "instance_detection" | "pixel_classification" | "object_classification"
    chip_size: int
    extract_bands: tuple[int, ...]
    classes: tuple[EmdClass, ...]
    device: torch.device

    def prepare(self, chips: np.ndarray) -> torch.Tensor: ...

    def detect(self, batch: torch.Tensor, threshold: float, nms_overlap: float) -> list[Detections]: ...

    def segment(self, batch: torch.Tensor) -> np.ndarray: ...

    def classify(self, batch: torch.Tensor) -> tuple[np.ndarray, np.ndarray]: ...


class TorchPredictor:
    """The one Predictor implementation; methods outside the model's family raise."""

    def __init__(
        self,
        model: nn.Module,
        spec: ArchSpec,
        scaling: InputScaling,
        chip_size: int,
        extract_bands: tuple[int, ...],
        classes: tuple[EmdClass, ...],
        device: torch.device,
        multi_label: bool = False,
    ) -> None:
        self.model = model
        self.multi_label = multi_label  # object classifiers: independent sigmoid per class
        self.spec = spec
        self.family = spec.family
        self.scaling = scaling
        self.chip_size = chip_size
        self.extract_bands = extract_bands
        self.classes = classes
        self.device = device

    def prepare(self, chips: np.ndarray) -> torch.Tensor:
        """[B,bands,H,W] raw raster values -> model input on the device."""
        if chips.ndim != 4 or chips.shape[1] != len(self.extract_bands):
            raise EngineInputError(
                f"expected chips shaped [batch, {len(self.extract_bands)} bands, height, width], "
                f"got {list(chips.shape)}"
            )
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(chips)).to(self.device)
            if self.spec.torchvision_detector:
                return self.scaling.unit(x)
            return self.scaling.normalized(x)

    def _require(self, *families: str) -> None:
        if self.family not in families:
            raise EngineInputError(f"this {self.spec.name} package is a {self.family} model")

    def detect(self, batch: torch.Tensor, threshold: float, nms_overlap: float) -> list[Detections]:
        """Per-chip detections above `threshold` after per-class NMS at `nms_overlap` IoU."""
        self._require("object_detection", INSTANCE_DETECTION)
        set_detector_thresholds(self.model, threshold, nms_overlap)
        with torch.inference_mode():
            outputs = self.model(list(batch))
        results = []
        for out in outputs:
            keep = out["scores"] >= threshold
            masks = None
            if "masks" in out:
                masks = (out["masks"][keep, 0] > 0.5).cpu().numpy()
            results.append(
                Detections(
                    boxes=out["boxes"][keep].float().cpu().numpy().astype(np.float32),
                    scores=out["scores"][keep].float().cpu().numpy().astype(np.float32),
                    labels=out["labels"][keep].cpu().numpy().astype(np.int64),
                    masks=masks,
                )
            )
        return results

    def segment(self, batch: torch.Tensor) -> np.ndarray:
        """[B, N+1, H, W] float32 class probabilities (index 0 = NoData/background)."""
        self._require(PIXEL_CLASSIFICATION)
        with torch.inference_mode():
            logits = self.model(batch)
            if isinstance(logits, Mapping):
                logits = logits["out"]
            if logits.shape[-2:] != batch.shape[-2:]:
                logits = nn.functional.interpolate(
                    logits, size=batch.shape[-2:], mode="bilinear", align_corners=False
                )
            return torch.softmax(logits.float(), 1).cpu().numpy().astype(np.float32)

    def class_probabilities(self, batch: torch.Tensor) -> np.ndarray:
        """[B, classes] float32: softmax, or a sigmoid per class for multi-label models."""
        self._require(OBJECT_CLASSIFICATION)
        with torch.inference_mode():
            logits = self.model(batch).float()
            probs = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, 1)
        return probs.cpu().numpy().astype(np.float32)

    def classify(self, batch: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(index into Emd.classes [B] int64, confidence [B] float32)."""
        probs = self.class_probabilities(batch)
        return probs.argmax(1).astype(np.int64), probs.max(1).astype(np.float32)


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    """A package's state_dict (safe loading), without any DataParallel "module." prefix."""
    state = load_state_dict(path)
    return {k.removeprefix("module."): v for k, v in state.items()}


def weights_path(model_dir: Path, emd: Emd) -> Path:
    """The ModelFile of an extracted package; EngineInputError when it is missing."""
    if not emd.model_file:
        raise EngineInputError("the .emd has no ModelFile")
    name = Path(emd.model_file.replace("\\", "/"))
    path = name if name.is_absolute() else Path(model_dir) / name
    if not path.is_file():
        path = Path(model_dir) / name.name  # written on another machine; look at the root
    if not path.is_file():
        raise EngineInputError(f"the package has no weights file {emd.model_file!r}")
    return path


def _mismatch(model: nn.Module, state: Mapping[str, torch.Tensor]) -> str:
    """Why `state` does not load strictly into `model` ("" when it does)."""
    expected = model.state_dict()
    optional = {k for k in expected if k.endswith("num_batches_tracked")}
    missing = [k for k in expected if k not in state and k not in optional]
    unexpected = [k for k in state if k not in expected and not k.endswith("num_batches_tracked")]
    wrong = [
        f"{k} {tuple(state[k].shape)} instead of {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    parts = []
    if wrong:
        parts.append("shape " + "; ".join(wrong[:3]))
    if missing:
        parts.append(f"{len(missing)} missing, e.g. {missing[0]}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected, e.g. {unexpected[0]}")
    return ", ".join(parts)


def resolve_arch(emd: Emd) -> tuple[ArchSpec, str]:
    """(architecture, backbone) of a runnable package; EngineInputError says why not."""
    info = model_family(emd)
    if not info.runnable:
        raise EngineInputError(f"this package cannot run in Rasterlab: {info.reason}")
    name = emd.rasterlab_arch or architecture(emd) or info.architecture
    if name is None:
        raise EngineInputError("the .emd names no architecture (ModelName)")
    spec = arch_spec(name)
    backbone = spec.check_backbone(emd.backbone_name or spec.default_backbone)
    return spec, backbone


def chip_size_of(emd: Emd) -> int:
    size = emd.image_height or emd.image_width
    if not size:
        raise EngineInputError("the .emd has no ImageHeight/ImageWidth (the model's chip size)")
    return int(size)


def band_indices(emd: Emd) -> tuple[int, ...]:
    bands = emd.extract_bands or (0, 1, 2)
    return tuple(b if isinstance(b, int) else i for i, b in enumerate(bands))


LEGACY_UNET_KEY = "encoder.conv1.weight"
"""A key only UnetClassifier weights written before the DynamicUnet layout have."""


def model_for_emd(emd: Emd, legacy_unet: bool = False) -> tuple[nn.Module, ArchSpec, InputScaling]:
    """An untrained model with the exact layout the package's weights need (`legacy_unet`:
    Rasterlab's first U-Net, for UnetClassifier weights holding LEGACY_UNET_KEY)."""
    spec, backbone = resolve_arch(emd)
    if not emd.classes:
        raise EngineInputError("the .emd lists no Classes")
    scaling = scaling_from_emd(emd)
    if spec.name == "UnetClassifier" and legacy_unet:
        legacy = LegacyUnet(backbone, len(emd.classes) + 1, pretrained=False)
        adapt_first_conv(legacy, len(band_indices(emd)))
        return legacy, spec, scaling
    mean, std = scaling.detector_mean_std()
    model = build_model(
        spec.name,
        backbone,
        len(emd.classes),
        len(band_indices(emd)),
        chip_size_of(emd),
        image_mean=mean,
        image_std=std,
        pretrained_backbone=False,
    )
    return model, spec, scaling


def load_predictor(model_dir: Path, emd: Emd, device: str = "cpu") -> Predictor:
    """Rebuild the package's model in `model_dir` (an extracted package) on `device`."""
    resolve_arch(emd)  # says why a package cannot run before looking for its weights
    path = weights_path(model_dir, emd)
    state = load_weights(path)
    model, spec, scaling = model_for_emd(emd, legacy_unet=LEGACY_UNET_KEY in state)
    problem = _mismatch(model, state)
    if problem:
        raise EngineInputError(
            f"the weights in {path.name} do not fit a {spec.name} with {len(emd.classes)} "
            f"classes and {len(band_indices(emd))} bands ({problem}); check Classes, "
            "ExtractBands and ModelParameters.backbone in the .emd"
        )
    model.load_state_dict(state, strict=True)
    target = torch.device(device)
    model.eval().to(target)
    return TorchPredictor(
        model, spec, scaling, chip_size_of(emd), band_indices(emd), tuple(emd.classes), target,
        multi_label=emd.meta_data_mode == "MultiLabeled_Tiles",
    )
