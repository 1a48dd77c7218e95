"""Structural types the inference engine codes against.

They mirror ``backend.engine.nets.predictor`` (Predictor, Detections) and
``backend.engine.dlpk.emd.EmdClass`` so that this package type-checks on its own and tests can use
small fakes; the real classes satisfy them without inheriting from them.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch

OBJECT_DETECTION = "object_detection"
INSTANCE_DETECTION = "instance_detection"
PIXEL_CLASSIFICATION = "pixel_classification"
OBJECT_CLASSIFICATION = "object_classification"


class ClassInfo(Protocol):
    """One entry of the model's class table (emd ``Classes``), in model output order."""

    @property
    def value(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def color(self) -> tuple[int, int, int] | None: ...


class DetectionsLike(Protocol):
    """Detections of one chip: xyxy boxes in chip pixels, scores 0..1, model output indices."""

    @property
    def boxes(self) -> np.ndarray: ...

    @property
    def scores(self) -> np.ndarray: ...

    @property
    def labels(self) -> np.ndarray: ...

    @property
    def masks(self) -> np.ndarray | None: ...


class PredictorLike(Protocol):
    """What the engine needs from a loaded model (see ``nets.predictor.load_predictor``)."""

    @property
    def family(self) -> str: ...

    @property
    def chip_size(self) -> int: ...

    @property
    def extract_bands(self) -> tuple[int, ...]: ...

    @property
    def classes(self) -> Sequence[ClassInfo]: ...

    @property
    def device(self) -> torch.device: ...

    def prepare(self, chips: np.ndarray) -> torch.Tensor: ...

    def detect(
        self, batch: torch.Tensor, threshold: float, nms_overlap: float
    ) -> Sequence[DetectionsLike]: ...

    def segment(self, batch: torch.Tensor) -> np.ndarray: ...

    def classify(self, batch: torch.Tensor) -> tuple[np.ndarray, np.ndarray]: ...


class ProbabilityPredictor(PredictorLike, Protocol):
    """An object classifier that also gives every class's probability (test-time augmentation
    and multi-label models need them; `classify` alone gives the best class)."""

    @property
    def multi_label(self) -> bool: ...

    def class_probabilities(self, batch: torch.Tensor) -> np.ndarray: ...
