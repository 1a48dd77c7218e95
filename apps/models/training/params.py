"""train_model params, declared once (``TrainModelParams``): types, bounds and defaults in the
fields, and in ``validate`` what needs the database (dataset ready, model type fits its format,
backbone known, fine-tune source compatible). 400s name the field: ``params.<field>: ...``."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from apps.jobs.params import Choice, Flag, Id, JobParams, Name, Number, Whole
from backend.api.exceptions import InvalidInput
from backend.engine.errors import EngineInputError
from rest_framework import serializers

MAX_EPOCHS = 1000
MAX_BATCH = 512
MAX_CHIP = 4096
SCHEDULES = ("one_cycle", "cosine")
PROCESSORS = ("CPU", "GPU")
REQUIRED_TYPE = "is required (e.g. FasterRCNN, RetinaNet, SSD, MaskRCNN, UnetClassifier, DeepLab, FeatureClassifier)."


def _bad(field: str, why: str) -> InvalidInput:
    return InvalidInput(f"params.{field}: {why}")


def safe_folder_name(title: str) -> str:
    """The engine's out_name (a folder and file stem): the title without path-hostile characters."""
    name = re.sub(r'[/\\:*?"<>|\x00-\x1f]+', "_", title).strip(" .")
    return name[:100] or "model"


class TrainModelParams(JobParams):
    """Train Deep Learning Model: a new model package from a training dataset (ArcGIS's parameters)."""

    in_dataset = Id(help_text="The training dataset (an export_training_data result) of this project.")
    model_type = serializers.CharField(
        error_messages={k: REQUIRED_TYPE for k in ("required", "blank", "null")}, help_text="Architecture: FasterRCNN, RetinaNet, SSD, MaskRCNN, UnetClassifier, DeepLab, "
                  "FeatureClassifier, ... (arcgis.learn ModelName or a short alias).")
    backbone_model = serializers.CharField(required=False, allow_null=True, default=None,
                                           help_text="Default: the architecture's recommended backbone.")
    max_epochs = Whole(min_value=1, max_value=MAX_EPOCHS, default=20)
    batch_size = Whole(min_value=1, max_value=MAX_BATCH, default=4)
    learning_rate = Number(min_value=0.0, max_value=1.0, above=True, default=None,
                           help_text="Absent: found automatically (learning-rate finder).")
    validation_percentage = Number(min_value=0.0, max_value=99.0, default=10.0)
    stop_training = Flag(default=True, help_text=(
        "Early stopping when neither the validation mAP (detectors) nor the validation loss improves "
        "for `patience` epochs, once the learning rate has decayed to half its peak."))
    patience = Whole(min_value=1, max_value=MAX_EPOCHS, default=5,
                     help_text="Epochs without improvement before early stopping.")
    pretrained_model = Id(default=None, help_text="A model package id to fine-tune from.")
    freeze_backbone_epochs = Whole(min_value=0, max_value=MAX_EPOCHS, default=None,
                                   help_text="Default: the recipe's (a pretrained backbone is frozen for 1 epoch).")
    schedule = Choice(SCHEDULES, default="one_cycle")
    chip_size = Whole(min_value=32, max_value=MAX_CHIP, default=None,
                      help_text="Default: the dataset's tile size.")
    processor_type = Choice(PROCESSORS, upper=True, default="CPU")
    out_name = Name(help_text="Title of the model package (default: '<model type> - <dataset>').")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        from backend.engine.nets.catalog import arch_spec
        from backend.engine.training.data import check_format
        from backend.engine.training.recipes import training_backbone

        dataset = _dataset(attrs["in_dataset"], self.job.project_id)
        try:
            spec = arch_spec(attrs["model_type"])
            check_format(spec.family, spec.name, dataset.metadata_format)
        except EngineInputError as exc:
            raise _bad("model_type", f"{exc}.") from None
        backbone = attrs["backbone_model"]
        if backbone is not None and backbone not in spec.backbones:
            raise _bad("backbone_model", f"{spec.name} supports {', '.join(spec.backbones)}.")
        cleaned = {**attrs, "in_dataset": dataset.pk, "model_type": spec.name}
        if attrs["pretrained_model"] is None:
            del cleaned["pretrained_model"]
        else:
            cleaned["pretrained_model"], backbone = _pretrained(attrs["pretrained_model"], self.job.user, spec,
                                                                backbone, dataset.band_count)
        cleaned["backbone_model"] = backbone or training_backbone(spec)
        cleaned["out_name"] = attrs.get("out_name") or f"{spec.name} - {dataset.name}"[:200]
        return cleaned


def _dataset(value: int, project_id: int) -> Any:
    from apps.labeling.models import Dataset

    dataset = Dataset.objects.filter(pk=value, project_id=project_id).first()
    if dataset is None:
        raise _bad("in_dataset", "must be the id of a training dataset of this project.")
    if dataset.status != Dataset.Status.READY:
        raise _bad("in_dataset", f"dataset {dataset.name!r} is still being exported; wait until it is ready.")
    return dataset


def _pretrained(value: int, user: Any, spec: Any, backbone: str | None, bands: int) -> tuple[int, str]:
    """(package id, backbone) of a compatible package to fine-tune from; 400 otherwise."""
    from apps.models.packages.describe import stored_emd
    from apps.models.packages.selectors import models_for
    from backend.engine.nets.predictor import resolve_arch
    from backend.engine.training.config import PretrainedSource
    from backend.engine.training.finetune import check_compatible

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
