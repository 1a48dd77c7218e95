"""Training loop, LR finder and package writing (Train Deep Learning Model), Django-free.

Public API:

loop.py
    train(config: TrainConfig, folder: chips.reader.TrainingFolder, out_dir: Path,
          progress=no_progress, should_stop=never_stop,
          on_epoch: Callable[[EpochReport], None] | None = None,
          pretrained: PretrainedSource | None = None, clock=time.monotonic) -> TrainResult
        Writes <out_dir>/<out_name>/{<out_name>.emd, <out_name>.pth, ModelCharacteristics/
        loss_graph.png, show_results.png[, lr_finder.png], <out_name>.dlpk}. Raises
        EngineInputError (bad input, diverged, GPU out of memory) or Cancelled; either way
        the partial folder is removed.
config.py
    TrainConfig(model_type, out_name, backbone=None, max_epochs=20, batch_size=4,
                learning_rate=None, validation_percentage=10.0, stop_training=True,
                patience=5, chip_size=None, device="cpu", freeze_backbone_epochs=None,
                schedule="one_cycle", num_workers=0, seed=42, lr_find_steps=24,
                weight_decay=None, show_results_count=4, pretrained_backbone=True,
                time_budget_s=None, max_rollbacks=3)   # None: the architecture's recipe
    PretrainedSource(model_dir: Path, emd: Emd, freeze_backbone_epochs: int | None = None)
    EpochReport(epoch, train_loss, valid_loss, metrics, lr, seconds, events)
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
recipes.py
    training_backbone(spec) (FasterRCNN: efficientnet_lite0), recipe_for(spec, pretrained) ->
    Recipe(optimizer, lr, lr_range, weight_decay, freeze_epochs, clip_norm); LR-test
    suggestions are clipped into lr_range
guard.py / schedule.py
    Guard: best weights, rollback on a non-finite or exploding loss (LR x0.3, event in the
    epoch report, ModelCharacteristics/history.json and the job log); Schedule: warm-up +
    cosine over a total re-estimated from the time budget

Notes: the backbone's start comes from nets.weights (cache, registry package, download on
first use unless RASTERLAB_OFFLINE=1, else random) and is reported before training; gradients
are clipped; detectors keep the epoch with the best validation mAP50 (then loss), the others
the lowest validation loss; detector validation loss is computed in train mode with batch-norm frozen; batch-norm
momentum is raised to 2/batches-per-epoch for short epochs (see setup.adapt_batchnorm);
should_stop() is called before every batch, so it should be cheap.
"""
from __future__ import annotations

from backend.engine.training.config import EpochReport, PretrainedSource, TrainConfig, TrainResult
from backend.engine.training.loop import train

__all__ = ["EpochReport", "PretrainedSource", "TrainConfig", "TrainResult", "train"]
