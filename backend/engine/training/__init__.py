"""Training loop, LR finder and package writing (Train Deep Learning Model), Django-free.

Public API:

loop.py
    train(config: TrainConfig, folder: chips.reader.TrainingFolder, out_dir: Path,
          progress=no_progress, should_stop=never_stop,
          on_epoch: Callable[[EpochReport], None] | None = None,
          pretrained: PretrainedSource | None = None) -> TrainResult
        Writes <out_dir>/<out_name>/{<out_name>.emd, <out_name>.pth, ModelCharacteristics/
        loss_graph.png, show_results.png[, lr_finder.png], <out_name>.dlpk}. Raises
        EngineInputError (bad input, diverged, GPU out of memory) or Cancelled; either way
        the partial folder is removed.
config.py
    TrainConfig(model_type, out_name, backbone=None, max_epochs=20, batch_size=4,
                learning_rate=None, validation_percentage=10.0, stop_training=True,
                patience=5, chip_size=None, device="cpu", freeze_backbone_epochs=0,
                schedule="one_cycle", num_workers=0, seed=42, lr_find_steps=100,
                weight_decay=1e-2, show_results_count=4)
    PretrainedSource(model_dir: Path, emd: Emd, freeze_backbone_epochs: int | None = None)
    EpochReport(epoch, train_loss, valid_loss, metrics, lr, seconds)
    TrainResult(package_path, metrics, epochs_run, best_epoch, lr, history, model_dir)
setup.py
    folder_scaling(folder) -> nets.normalization.InputScaling   # how chips become inputs
finetune.py
    load_pretrained(model, spec, class_values, source) -> FineTuneReport
    check_compatible(spec, backbone, in_channels, source)      # EngineInputError if not
lr_finder.py
    find_lr(...) -> LrFinderResult(lrs, losses, suggestion)
emd_writer.py
    model_emd(...) -> dict    # the .emd in arcgis.learn's shape for the model type

Notes: detector validation loss is computed in train mode with batch-norm frozen; batch-norm
momentum is raised to 2/batches-per-epoch for short epochs (see loop._adapt_batchnorm);
should_stop() is called before every batch, so it should be cheap.
"""
from __future__ import annotations

from backend.engine.training.config import EpochReport, PretrainedSource, TrainConfig, TrainResult
from backend.engine.training.loop import train

__all__ = ["EpochReport", "PretrainedSource", "TrainConfig", "TrainResult", "train"]
