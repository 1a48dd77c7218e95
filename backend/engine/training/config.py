"""Values that go into and come out of `train()`."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from backend.engine.dlpk.emd import Emd
from backend.engine.errors import EngineInputError


@dataclass(frozen=True)
class TrainConfig:
    """Train Deep Learning Model parameters (names follow the ArcGIS tool)."""

    model_type: str  # FasterRCNN, RetinaNet, SingleShotDetector, MaskRCNN, UnetClassifier, ...
    out_name: str
    backbone: str | None = None  # None: the architecture's default
    max_epochs: int = 20
    batch_size: int = 4
    learning_rate: float | None = None  # None: LR range test (ModelCharacteristics/lr_finder.png)
    validation_percentage: float = 10.0
    stop_training: bool = True  # early stopping on validation loss
    patience: int = 5  # epochs without improvement before early stopping
    chip_size: int | None = None  # None: the export's chip size; otherwise chips are resized
    device: Literal["cpu", "cuda"] = "cpu"
    freeze_backbone_epochs: int | None = None  # None: the recipe's (1 for a pretrained detector)
    schedule: Literal["one_cycle", "cosine"] = "one_cycle"
    num_workers: int = 0
    seed: int = 42  # validation split and augmentation
    lr_find_steps: int = 24  # an epoch of a few hundred chips; recipes bound the result
    weight_decay: float | None = None  # None: the architecture's recipe
    show_results_count: int = 4  # validation chips drawn in show_results.png
    pretrained_backbone: bool = True  # False: random start even when ImageNet weights exist
    time_budget_s: float | None = None  # stop starting epochs (and fit the schedule) within this
    max_rollbacks: int = 3  # divergences recovered from before the run fails

    def validate(self) -> None:
        if not self.out_name or any(c in self.out_name for c in '/\\:*?"<>|') or self.out_name in (".", ".."):
            raise EngineInputError("out_name must be a plain file name (no path separators)")
        if self.max_epochs < 1:
            raise EngineInputError("max_epochs must be at least 1")
        if self.batch_size < 1:
            raise EngineInputError("batch_size must be at least 1")
        if self.learning_rate is not None and not 0 < self.learning_rate < 10:
            raise EngineInputError("learning_rate must be a positive number below 10")
        if not 0 <= self.validation_percentage < 100:
            raise EngineInputError("validation_percentage must be between 0 and 99")
        if self.chip_size is not None and self.chip_size < 32:
            raise EngineInputError("chip_size must be at least 32 pixels")
        if self.device not in ("cpu", "cuda"):
            raise EngineInputError('device must be "cpu" or "cuda"')
        if self.freeze_backbone_epochs is not None and self.freeze_backbone_epochs < 0:
            raise EngineInputError("freeze_backbone_epochs must not be negative")
        if self.schedule not in ("one_cycle", "cosine"):
            raise EngineInputError('schedule must be "one_cycle" or "cosine"')
        if self.num_workers < 0 or self.patience < 1 or self.lr_find_steps < 5:
            raise EngineInputError("num_workers >= 0, patience >= 1 and lr_find_steps >= 5")
        if self.time_budget_s is not None and self.time_budget_s <= 0:
            raise EngineInputError("time_budget_s must be positive")


@dataclass(frozen=True)
class PretrainedSource:
    """A package to fine-tune from: its extracted folder and parsed emd."""

    model_dir: Path
    emd: Emd
    freeze_backbone_epochs: int | None = None  # overrides TrainConfig's when set


@dataclass(frozen=True)
class EpochReport:
    epoch: int  # 1-based
    train_loss: float
    valid_loss: float | None  # None without a validation set
    metrics: dict[str, float]  # e.g. {"mAP50": .., "mAP50_95": ..} or {"accuracy": .., "mIoU": ..}
    lr: float  # learning rate at the end of the epoch
    seconds: float = 0.0
    events: tuple[str, ...] = ()  # what the guard did this epoch (rollbacks, LR cuts)


@dataclass(frozen=True)
class TrainResult:
    package_path: Path  # the .dlpk
    metrics: dict[str, Any]  # final metrics of the best checkpoint on the validation set
    epochs_run: int
    best_epoch: int
    lr: float
    history: tuple[EpochReport, ...] = field(default_factory=tuple)
    model_dir: Path | None = None  # the model folder the package was zipped from
