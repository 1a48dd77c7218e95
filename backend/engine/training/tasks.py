"""What differs between families: the training loss, validation and its metrics.

torchvision detectors only return losses in train mode, so the validation loss of a detector
is computed in train mode with batch-norm layers switched to eval (no statistics update, no
gradients); predictions for AP come from a second, eval-mode pass.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import DataLoader

from backend.engine.inference.detect import DetectArgs
from backend.engine.metrics.confusion import confusion_matrix, scores_from_confusion
from backend.engine.metrics.detection import TrueObjects, detection_scores
from backend.engine.nets.catalog import (
    INSTANCE_DETECTION,
    OBJECT_CLASSIFICATION,
    OBJECT_DETECTION,
)
from backend.engine.nets.detection import set_detector_thresholds

Autocast = Callable[[], contextlib.AbstractContextManager[Any]]
VALID_SCORE_THRESHOLD = 0.05


@dataclass
class Predicted:
    """Eval-mode predictions of one image in numpy (detector families)."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    masks: np.ndarray | None = None


@dataclass
class Example:
    """One validation chip kept for show_results.png."""

    image: torch.Tensor  # model input, CPU
    target: Any
    prediction: Any


@dataclass
class Evaluation:
    loss: float
    metrics: dict[str, float]  # the per-epoch summary
    details: dict[str, Any]  # full metrics (per class), JSON-ready
    examples: list[Example] = field(default_factory=list)


def to_device(images: Any, targets: Any, device: torch.device, non_blocking: bool) -> tuple[Any, Any]:
    if isinstance(images, list):
        images = [im.to(device, non_blocking=non_blocking) for im in images]
        targets = [{k: v.to(device, non_blocking=non_blocking) for k, v in t.items()} for t in targets]
        return images, targets
    return images.to(device, non_blocking=non_blocking), targets.to(device, non_blocking=non_blocking)


def batch_size_of(images: Any) -> int:
    return len(images)


@contextlib.contextmanager
def frozen_batchnorm(model: nn.Module) -> Iterator[None]:
    """Train mode with batch-norm statistics frozen (for detector validation losses)."""
    was_training = model.training
    model.train()
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.eval()
    try:
        yield
    finally:
        model.train(was_training)


def training_loss(family: str, model: nn.Module, images: Any, targets: Any) -> torch.Tensor:
    if family in (OBJECT_DETECTION, INSTANCE_DETECTION):
        losses = model(images, targets)
        total: torch.Tensor = sum(losses.values())
        return total
    logits = model(images)
    if isinstance(logits, Mapping):
        logits = logits["out"]
    return F.cross_entropy(logits.float(), targets)


def _predicted(out: Mapping[str, torch.Tensor]) -> Predicted:
    masks = None
    if "masks" in out:
        masks = (out["masks"][:, 0] > 0.5).cpu().numpy()
    return Predicted(
        out["boxes"].float().cpu().numpy(),
        out["scores"].float().cpu().numpy(),
        out["labels"].cpu().numpy(),
        masks,
    )


def _true(target: Mapping[str, torch.Tensor]) -> TrueObjects:
    masks = target["masks"].bool().cpu().numpy() if "masks" in target else None
    return TrueObjects(target["boxes"].cpu().numpy(), target["labels"].cpu().numpy(), masks)


def evaluate(
    family: str,
    model: nn.Module,
    loader: DataLoader[Any],
    device: torch.device,
    autocast: Autocast,
    class_names: tuple[str, ...],
    keep_examples: int = 0,
    should_stop: Callable[[], bool] | None = None,
) -> Evaluation:
    """Validation loss and metrics over `loader` (eval pass; BN frozen for detector losses)."""
    detector = family in (OBJECT_DETECTION, INSTANCE_DETECTION)
    if detector:
        # validate with the in-chip NMS Detect Objects applies by default (Mask R-CNN's too),
        # and a low score threshold, as AP needs
        set_detector_thresholds(model, VALID_SCORE_THRESHOLD, DetectArgs().nms_overlap)
    n_outputs = len(class_names) + (0 if family == OBJECT_CLASSIFICATION else 1)
    total_loss, count = 0.0, 0
    preds: list[Predicted] = []
    truths: list[TrueObjects] = []
    confusion = np.zeros((n_outputs, n_outputs), dtype=np.int64)
    examples: list[Example] = []
    with torch.no_grad():
        for images, targets in loader:
            if should_stop is not None and should_stop():
                from backend.engine.errors import Cancelled

                raise Cancelled("training cancelled")
            images, targets = to_device(images, targets, device, False)
            n = batch_size_of(images)
            if detector:
                with frozen_batchnorm(model), autocast():
                    loss = training_loss(family, model, images, targets)
                model.eval()
                with autocast():
                    outputs = model(images)
                batch_preds = [_predicted(o) for o in outputs]
                preds.extend(batch_preds)
                truths.extend(_true(t) for t in targets)
                predictions: list[Any] = batch_preds
            else:
                model.eval()
                with autocast():
                    logits = model(images)
                if isinstance(logits, Mapping):
                    logits = logits["out"]
                loss = F.cross_entropy(logits.float(), targets)
                labels = logits.argmax(1)
                confusion += confusion_matrix(labels.cpu().numpy(), targets.cpu().numpy(), n_outputs)
                predictions = list(labels.cpu())
            total_loss += float(loss) * n
            count += n
            for k in range(n):
                if len(examples) < keep_examples:
                    target = targets[k]
                    target = {key: v.cpu() for key, v in target.items()} if isinstance(target, dict) else target.cpu()
                    examples.append(Example(images[k].float().cpu(), target, predictions[k]))
    loss_value = total_loss / max(count, 1)
    if detector:
        metrics, details = _detection_metrics(family, preds, truths, class_names)
    else:
        metrics, details = _confusion_metrics(family, confusion, class_names)
    return Evaluation(loss_value, metrics, details, examples)


def _num(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _detection_metrics(
    family: str, preds: list[Predicted], truths: list[TrueObjects], class_names: tuple[str, ...]
) -> tuple[dict[str, float], dict[str, Any]]:
    iou_type = "segm" if family == INSTANCE_DETECTION else "bbox"
    scores = detection_scores(preds, truths, len(class_names), iou_type=iou_type)  # type: ignore[arg-type]
    per_class = {
        class_names[cls - 1]: {
            "ap50": _num(s.ap50),
            "ap50_95": _num(s.ap50_95),
            "precision": _num(s.precision),
            "recall": _num(s.recall),
            "f1": _num(s.f1),
            "support": s.support,
        }
        for cls, s in scores.per_class.items()
    }
    summary = {
        "mAP50": float(scores.map50 or 0.0),
        "mAP50_95": float(scores.map50_95 or 0.0),
    }
    details = {"iou_type": iou_type, "map50": _num(scores.map50), "map50_95": _num(scores.map50_95), "per_class": per_class}
    return summary, details


def _confusion_metrics(
    family: str, confusion: np.ndarray, class_names: tuple[str, ...]
) -> tuple[dict[str, float], dict[str, Any]]:
    scores = scores_from_confusion(confusion)
    names = class_names if family == OBJECT_CLASSIFICATION else ("NoData", *class_names)
    per_class = {
        name: {
            "precision": _num(s.precision),
            "recall": _num(s.recall),
            "f1": _num(s.f1),
            "iou": _num(s.iou),
            "support": s.support,
        }
        for name, s in zip(names, scores.per_class)
    }
    summary = {"accuracy": float(scores.accuracy or 0.0)}
    details: dict[str, Any] = {
        "accuracy": _num(scores.accuracy),
        "per_class": per_class,
        "confusion_matrix": confusion.tolist(),
        "class_order": list(names),
    }
    if family != OBJECT_CLASSIFICATION:
        summary["mIoU"] = float(scores.mean_iou or 0.0)
        details["miou"] = _num(scores.mean_iou)
    return summary, details
