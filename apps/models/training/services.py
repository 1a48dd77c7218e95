"""The train_model handler: dataset folder -> backend.engine.training.train -> a new ModelPackage."""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from apps.jobs.registry import JobContext
from backend.engine.errors import Cancelled, EngineInputError

HISTORY_SENT = 500  # epochs kept in the live metrics message (the full history is in the result)


def _finite(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become None (the job row and websocket carry strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _epoch_row(report: Any) -> dict[str, Any]:
    return _finite({"epoch": report.epoch, "train_loss": report.train_loss, "valid_loss": report.valid_loss,
                    "metrics": dict(report.metrics), "lr": report.lr, "seconds": round(report.seconds, 2),
                    "events": list(report.events)})


def _device(processor_type: str) -> str:
    if processor_type != "GPU":
        return "cpu"
    import torch

    if not torch.cuda.is_available():
        raise EngineInputError("processor_type GPU was asked but this worker has no usable GPU; "
                               "run with processor_type CPU or start a worker on a GPU machine")
    return "cuda"


def _pretrained_source(package_id: int, freeze: int | None) -> Any:
    from apps.models.models import ModelPackage
    from apps.models.packages.services import model_extracted_dir
    from backend.engine.dlpk.emd import parse_emd
    from backend.engine.training import PretrainedSource

    package = ModelPackage.objects.filter(pk=package_id).first()
    if package is None:
        raise EngineInputError("the model package to fine-tune from was deleted; pick another one")
    folder = model_extracted_dir(package)
    emd = parse_emd((folder / package.emd_name).read_bytes())
    return PretrainedSource(model_dir=folder, emd=emd, freeze_backbone_epochs=freeze)


def run_training(ctx: JobContext) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from apps.labeling.datasets.services import training_folder
    from apps.labeling.models import Dataset, Project
    from apps.models.packages.services import model_package_create_from_folder
    from backend.engine.training import EpochReport, TrainConfig, train

    from .params import safe_folder_name
    from .weights import start_for

    p = ctx.params
    dataset = Dataset.objects.filter(pk=p["in_dataset"]).first()
    if dataset is None:
        raise EngineInputError("the training dataset was deleted; export the training data again")
    folder = training_folder(dataset)
    config = TrainConfig(
        model_type=p["model_type"], out_name=safe_folder_name(p["out_name"]), backbone=p.get("backbone_model"),
        max_epochs=p["max_epochs"], batch_size=p["batch_size"], learning_rate=p.get("learning_rate"),
        validation_percentage=p["validation_percentage"], stop_training=p["stop_training"],
        patience=p.get("patience", 5), chip_size=p.get("chip_size"), device=_device(p["processor_type"]),  # type: ignore[arg-type]
        freeze_backbone_epochs=p.get("freeze_backbone_epochs"), schedule=p.get("schedule", "one_cycle"),
    )
    pretrained = None
    if p.get("pretrained_model") is not None:
        pretrained = _pretrained_source(p["pretrained_model"], p.get("freeze_backbone_epochs"))
        ctx.log(f"Fine-tuning from model package {p['pretrained_model']}")
    ctx.log(f"Training {config.model_type} ({config.backbone}) on {len(folder.samples)} chips "
            f"from dataset {dataset.name!r} on {config.device}")
    start = start_for(config.model_type, config.backbone, p.get("pretrained_model"))
    ctx.log(f"Starting weights: {start['summary']}" + (f" ({start['advice']})" if start["advice"] else ""))

    history: list[dict[str, Any]] = []

    def on_epoch(report: EpochReport) -> None:
        row = _epoch_row(report)
        history.append(row)
        ctx.set_metrics({"epoch": row["epoch"], "max_epochs": config.max_epochs, "train_loss": row["train_loss"],
                         "valid_loss": row["valid_loss"], "metrics": row["metrics"], "lr": row["lr"],
                         "history": history[-HISTORY_SENT:]})
        valid = "-" if row["valid_loss"] is None else f"{row['valid_loss']:.4f}"
        ctx.log(f"Epoch {row['epoch']}: train loss {row['train_loss']}, valid loss {valid}, {row['metrics']}")
        for event in report.events:
            ctx.log(event)

    started = time.monotonic()
    result = train(config, folder, Path(ctx.work_dir) / "train", progress=ctx.progress,
                   should_stop=ctx.should_stop, on_epoch=on_epoch, pretrained=pretrained)
    if ctx.should_stop():
        raise Cancelled()
    model_dir = result.model_dir or result.package_path.parent
    user = get_user_model().objects.filter(pk=ctx.user_id).first() if ctx.user_id else None
    project = Project.objects.get(pk=ctx.project_id)
    package = model_package_create_from_folder(project=project, user=user, folder=model_dir, title=p["out_name"])
    if ctx.should_stop():  # cancelled while packaging: keep no model
        import shutil

        from apps.models.packages.storage import package_dir

        package_id = package.pk
        package.delete()
        shutil.rmtree(package_dir(package_id), ignore_errors=True)
        raise Cancelled()
    ctx.log(f"Model {package.title!r} saved (best epoch {result.best_epoch} of {result.epochs_run}, "
            f"{time.monotonic() - started:.0f} s)")
    return _finite({"model": package.pk, "metrics": result.metrics, "epochs_run": result.epochs_run,
                    "best_epoch": result.best_epoch, "lr": result.lr, "history": history})
