"""Validation of train_model params: clear 400s naming the field, and what can be checked before the
job runs (dataset ready, model type fits its format, backbone known, fine-tune source compatible)."""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from backend.api.exceptions import InvalidInput
from backend.engine.errors import EngineInputError

KNOWN = {
    "in_dataset", "model_type", "backbone_model", "max_epochs", "batch_size", "learning_rate",
    "validation_percentage", "stop_training", "patience", "pretrained_model", "freeze_backbone_epochs",
    "schedule", "chip_size", "processor_type", "out_name",
}
MAX_EPOCHS = 1000
MAX_BATCH = 512
MAX_CHIP = 4096
SCHEDULES = ("one_cycle", "cosine")


def _bad(field: str, why: str) -> InvalidInput:
    return InvalidInput(f"params.{field}: {why}")


def _int(params: dict[str, Any], name: str, default: int | None, low: int, high: int) -> int | None:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(name, f"must be a whole number from {low} to {high}.")
    return value


def _float(params: dict[str, Any], name: str, default: float | None, low: float, high: float,
           open_low: bool = False) -> float | None:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(name, "must be a number.")
    if value > high or value < low or (open_low and value <= low):
        side = f"above {low}" if open_low else f"from {low}"
        raise _bad(name, f"must be {side} up to {high}.")
    return float(value)


def _bool(params: dict[str, Any], name: str, default: bool) -> bool:
    value = params.get(name, default)
    if not isinstance(value, bool):
        raise _bad(name, "must be true or false.")
    return value


def safe_folder_name(title: str) -> str:
    """The engine's out_name (a folder and file stem): the title without path-hostile characters."""
    name = re.sub(r'[/\\:*?"<>|\x00-\x1f]+', "_", title).strip(" .")
    return name[:100] or "model"


def _dataset(params: dict[str, Any], project_id: int) -> Any:
    from apps.labeling.models import Dataset

    value = params.get("in_dataset")
    dataset = None
    if isinstance(value, int) and not isinstance(value, bool):
        dataset = Dataset.objects.filter(pk=value, project_id=project_id).first()
    if dataset is None:
        raise _bad("in_dataset", "must be the id of a training dataset of this project.")
    if dataset.status != Dataset.Status.READY:
        raise _bad("in_dataset", f"dataset {dataset.name!r} is still being exported; wait until it is ready.")
    return dataset


def _pretrained(params: dict[str, Any], user: Any, spec: Any, backbone: str | None, bands: int) -> tuple[int, str]:
    """(package id, backbone) of a compatible package to fine-tune from; 400 otherwise."""
    from apps.models.packages.describe import stored_emd
    from apps.models.packages.selectors import models_for
    from backend.engine.nets.predictor import resolve_arch
    from backend.engine.training.config import PretrainedSource
    from backend.engine.training.finetune import check_compatible

    value = params["pretrained_model"]
    package = None
    if isinstance(value, int) and not isinstance(value, bool):
        package = models_for(user).filter(pk=value).first()
    if package is None:
        raise _bad("pretrained_model", "must be the id of a model package you can see.")
    try:
        emd = stored_emd(package.emd)
        _, src_backbone = resolve_arch(emd)
        chosen = backbone or src_backbone
        check_compatible(spec, chosen, bands, PretrainedSource(model_dir=Path("."), emd=emd))
    except EngineInputError as exc:
        raise _bad("pretrained_model", f"{exc}.") from None
    return package.pk, chosen


def clean_train_params(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    from backend.engine.nets.catalog import arch_spec
    from backend.engine.training.data import check_format
    from backend.engine.training.recipes import training_backbone

    if not isinstance(params, dict):
        raise InvalidInput("params: must be an object.")
    unknown = sorted(set(params) - KNOWN)
    if unknown:
        raise _bad(unknown[0], f"unknown parameter; expected some of {', '.join(sorted(KNOWN))}.")
    dataset = _dataset(params, ctx.project_id)

    model_type = params.get("model_type")
    if not isinstance(model_type, str) or not model_type.strip():
        raise _bad("model_type", "is required (e.g. FasterRCNN, RetinaNet, SSD, MaskRCNN, UnetClassifier, "
                                 "DeepLab, FeatureClassifier).")
    try:
        spec = arch_spec(model_type.strip())
        check_format(spec.family, spec.name, dataset.metadata_format)
    except EngineInputError as exc:
        raise _bad("model_type", f"{exc}.") from None

    backbone = params.get("backbone_model")
    if backbone is not None and (not isinstance(backbone, str) or backbone not in spec.backbones):
        raise _bad("backbone_model", f"{spec.name} supports {', '.join(spec.backbones)}.")

    cleaned: dict[str, Any] = {"in_dataset": dataset.pk, "model_type": spec.name}
    if params.get("pretrained_model") is not None:
        cleaned["pretrained_model"], backbone = _pretrained(params, ctx.user, spec, backbone, dataset.band_count)
    cleaned["backbone_model"] = backbone or training_backbone(spec)
    cleaned["max_epochs"] = _int(params, "max_epochs", 20, 1, MAX_EPOCHS)
    cleaned["batch_size"] = _int(params, "batch_size", 4, 1, MAX_BATCH)
    cleaned["learning_rate"] = _float(params, "learning_rate", None, 0.0, 1.0, open_low=True)
    cleaned["validation_percentage"] = _float(params, "validation_percentage", 10.0, 0.0, 99.0)
    cleaned["stop_training"] = _bool(params, "stop_training", True)
    cleaned["patience"] = _int(params, "patience", 5, 1, MAX_EPOCHS)
    # None: the recipe's (a pretrained backbone is frozen for the first epoch)
    cleaned["freeze_backbone_epochs"] = _int(params, "freeze_backbone_epochs", None, 0, MAX_EPOCHS)
    schedule = params.get("schedule", "one_cycle")
    if schedule not in SCHEDULES:
        raise _bad("schedule", f"must be one of {', '.join(SCHEDULES)}.")
    cleaned["schedule"] = schedule
    cleaned["chip_size"] = _int(params, "chip_size", None, 32, MAX_CHIP)
    processor = params.get("processor_type", "CPU")
    if not isinstance(processor, str) or processor.upper() not in ("CPU", "GPU"):
        raise _bad("processor_type", "must be CPU or GPU.")
    cleaned["processor_type"] = processor.upper()

    name = params.get("out_name")
    if name is not None and not isinstance(name, str):
        raise _bad("out_name", "must be text.")
    name = " ".join((name or "").split()) or f"{spec.name} - {dataset.name}"
    cleaned["out_name"] = name[:200]
    return cleaned
