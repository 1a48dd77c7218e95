"""`train()`: from an export folder to a model package (Train Deep Learning Model)."""
from __future__ import annotations

import contextlib
import copy
import math
import shutil
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from backend.engine.chips.reader import TrainingFolder
from backend.engine.errors import Cancelled, EngineInputError
from backend.engine.nets import weights as weights_store
from backend.engine.nets.build import build_model
from backend.engine.nets.heads import backbone_of
from backend.engine.nets.roi_pool_cpu import use_fast_roi_pools
from backend.engine.training import emd_writer
from backend.engine.training.config import EpochReport, PretrainedSource, TrainConfig, TrainResult
from backend.engine.training.data import (
    ChipDataset,
    DataSpec,
    collate_dense,
    collate_detection,
    split_indices,
)
from backend.engine.training.finetune import load_pretrained
from backend.engine.training.guard import Diverged, Guard, score_of
from backend.engine.training.lr_finder import find_lr
from backend.engine.training.package import characteristics_dir, write_package
from backend.engine.training.plots import lr_finder_plot
from backend.engine.training.recipes import Recipe, clip_lr, recipe_for
from backend.engine.training.schedule import Schedule
from backend.engine.training.setup import RunSetup, adapt_batchnorm, duration, run_setup, starting_weights
from backend.engine.training.tasks import Evaluation, evaluate, to_device, training_loss
from backend.engine.types import Progress, ShouldStop, never_stop, no_progress

MESSAGE_INTERVAL_S = 1.0  # how often the loss in the progress message is refreshed


def train(
    config: TrainConfig,
    folder: TrainingFolder,
    out_dir: Path,
    progress: Progress = no_progress,
    should_stop: ShouldStop = never_stop,
    on_epoch: Callable[[EpochReport], None] | None = None,
    pretrained: PretrainedSource | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> TrainResult:
    """Train `config.model_type` on an export folder and write `<out_dir>/<out_name>/`.

    `config.time_budget_s` is measured with `clock` (wall time by default; the quality
    benchmark passes CPU time / threads to measure on a shared machine).

    Raises EngineInputError for unusable input (before writing anything) and Cancelled when
    `should_stop()` turns true (checked before every batch); in both cases, and on any other
    error, the partial model folder is removed.
    """
    setup = run_setup(config, folder, pretrained)
    out_dir = Path(out_dir)
    model_dir = out_dir / config.out_name
    if model_dir.exists() and any(model_dir.iterdir()):
        raise EngineInputError(f"{model_dir} already exists; choose another out_name")
    created_out_dir = not out_dir.exists()
    model_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _Trainer(config, folder, setup, model_dir, progress, should_stop, on_epoch, pretrained, clock).run()
    except BaseException:
        shutil.rmtree(model_dir, ignore_errors=True)
        if created_out_dir:
            with contextlib.suppress(OSError):
                out_dir.rmdir()
        raise


class _Trainer:
    def __init__(
        self,
        config: TrainConfig,
        folder: TrainingFolder,
        setup: RunSetup,
        model_dir: Path,
        progress: Progress,
        should_stop: ShouldStop,
        on_epoch: Callable[[EpochReport], None] | None,
        pretrained: PretrainedSource | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config, self.folder, self.setup = config, folder, setup
        self.spec, self.device = setup.spec, setup.device
        self.model_dir = model_dir
        self.progress, self.should_stop, self.on_epoch = progress, should_stop, on_epoch
        self.pretrained = pretrained
        self.family = setup.spec.family
        self.class_names = tuple(c.name for c in folder.classes)
        self.cuda = self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.cuda)
        self.done = 0
        self.total = 1
        self.clock = clock
        self.t0 = clock()
        self.epoch_clock: list[float] = []  # budget-clock seconds of each epoch

    # --- set-up ------------------------------------------------------------------------------

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.cuda:
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def _start(self) -> weights_store.Start:
        def on_bytes(done: int, total: int) -> None:
            size = f"{done / 1e6:.0f}/{total / 1e6:.0f} MB" if total else f"{done / 1e6:.0f} MB"
            self.progress(0, self.total, f"downloading the pretrained weights of {self.setup.backbone}: {size}")
            self._check_stop()

        setup = self.setup
        return starting_weights(self.spec.name, setup.backbone, setup.bands, self.config.pretrained_backbone, on_bytes)

    def _model(self) -> nn.Module:
        start = self._start()
        self.start_info = start
        torch.manual_seed(self.config.seed)
        mean, std = self.setup.scaling.detector_mean_std()
        model = build_model(
            self.spec.name, self.setup.backbone, len(self.folder.classes), self.setup.bands,
            self.setup.chip_size, image_mean=mean, image_std=std,
            pretrained_backbone=self.config.pretrained_backbone,  # only files on this machine load
            coco_start=start.detector is not None and self.pretrained is None,
        )
        if self.pretrained is not None:
            values = tuple(c.value for c in self.folder.classes)
            report = load_pretrained(model, self.spec, values, self.pretrained)
            self.progress(0, self.total, report.message())
        else:
            text = f"{start.summary}; {start.advice}" if start.advice else start.summary
            self.progress(0, self.total, text)
        if not self.cuda and self.spec.torchvision_detector:
            use_fast_roi_pools(model)  # same forward; torchvision's CPU backward is single-threaded
            # oneDNN convolutions run ~10% faster on NHWC weights (Lite0 Faster R-CNN, 256 px:
            # 0.289 -> 0.259 CPU-s per image and step); the saved state_dict is made contiguous
            model = model.to(memory_format=torch.channels_last)
        return model.to(self.device)

    def _loaders(self) -> tuple[DataLoader[Any], DataLoader[Any] | None]:
        samples = self.folder.samples
        train_idx, valid_idx = split_indices(len(samples), self.config.validation_percentage, self.config.seed)
        spec = DataSpec(
            family=self.family,
            metadata_format=self.folder.metadata_format,
            classes=tuple(self.folder.classes),
            scaling=self.setup.scaling,
            chip_size=self.setup.chip_size,
            unit_inputs=self.spec.torchvision_detector,
        )
        augment = self.folder.image_space_used.upper() == "MAP_SPACE"
        self.train_set = ChipDataset([samples[i] for i in train_idx], spec, augment, self.config.seed)
        collate = collate_detection if self.spec.torchvision_detector else collate_dense
        bs = self.config.batch_size
        common: dict[str, Any] = {
            "batch_size": bs,
            "collate_fn": collate,
            "num_workers": self.config.num_workers,
            "pin_memory": self.cuda,
        }
        generator = torch.Generator().manual_seed(self.config.seed)
        # A last batch of one sample breaks batch-norm layers in training mode.
        drop_last = len(train_idx) > bs and len(train_idx) % bs == 1
        train_loader = DataLoader(self.train_set, shuffle=True, generator=generator, drop_last=drop_last, **common)
        valid_loader = None
        if valid_idx:
            valid_set = ChipDataset([samples[i] for i in valid_idx], spec, False, self.config.seed)
            valid_loader = DataLoader(valid_set, shuffle=False, **common)
        return train_loader, valid_loader

    # --- steps -------------------------------------------------------------------------------

    def _check_stop(self) -> None:
        if self.should_stop():
            raise Cancelled("training cancelled")

    def _step(self, images: Any, targets: Any) -> torch.Tensor:
        images, targets = to_device(images, targets, self.device, self.cuda)
        with self.autocast():
            loss = training_loss(self.family, self.model, images, targets)
        self.optimizer.zero_grad(set_to_none=True)
        value = loss.detach()
        if not bool(torch.isfinite(value)):
            raise Diverged(float(value))
        self.scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
        self.scaler.unscale_(self.optimizer)
        nn.utils.clip_grad_norm_(self.params, self.recipe.clip_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return value

    def _find_lr(self, loader: DataLoader[Any], offset: int) -> float:
        def batches() -> Iterator[tuple[Any, Any]]:
            return iter(loader)

        def on_step(done: int, total: int) -> None:
            self.progress(offset + done, self.total, f"finding a learning rate ({done}/{total})")
            self._check_stop()

        def step(images: Any, targets: Any) -> torch.Tensor:
            try:
                return self._step(images, targets)
            except Diverged as exc:
                return torch.tensor(exc.loss)

        self.model.train()
        result = find_lr(self.model, self.optimizer, batches, step, self.config.lr_find_steps, on_step)
        lr = clip_lr(self.recipe, result.suggestion)
        if lr != result.suggestion:
            self.progress(offset, self.total, f"LR test suggested {result.suggestion:.2e}; using "
                          f"{lr:.2e}, the nearest rate {self.spec.name} trains well with")
        lr_finder_plot(replace(result, suggestion=lr), characteristics_dir(self.model_dir) / "lr_finder.png")
        return lr

    def _set_frozen(self, frozen: bool) -> None:
        for p in self.backbone_params:
            p.requires_grad_(False if frozen else self.trainable[id(p)])

    # --- the run -----------------------------------------------------------------------------

    def run(self) -> TrainResult:
        config = self.config
        train_loader, valid_loader = self._loaders()
        batches = len(train_loader)
        if batches == 0:
            raise EngineInputError("not enough chips for one training batch; lower batch_size")
        lr_steps = config.lr_find_steps if config.learning_rate is None else 0
        self.total = lr_steps + config.max_epochs * batches + 1
        self.model = self._model()
        self.recipe: Recipe = recipe_for(self.spec, self.start_info.pretrained or self.pretrained is not None)
        decay = config.weight_decay if config.weight_decay is not None else self.recipe.weight_decay
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=self.recipe.lr, weight_decay=decay)
        self.backbone_params = [p for p in backbone_of(self.spec.name, self.model).parameters() if p.requires_grad]
        self.trainable = {id(p): p.requires_grad for p in self.model.parameters()}
        try:
            lr = config.learning_rate or self._find_lr(train_loader, 0)
            return self._epochs(train_loader, valid_loader, lr, lr_steps, batches)
        except torch.cuda.OutOfMemoryError:
            raise EngineInputError(
                f"the GPU ran out of memory with batch_size {config.batch_size}; lower batch_size "
                "(or chip_size)"
            ) from None

    def _freeze_epochs(self) -> int:
        if self.pretrained is not None and self.pretrained.freeze_backbone_epochs is not None:
            return self.pretrained.freeze_backbone_epochs
        if self.config.freeze_backbone_epochs is not None:
            return self.config.freeze_backbone_epochs
        started_trained = self.start_info.pretrained or self.pretrained is not None
        return self.recipe.freeze_epochs if started_trained else 0

    def _planned_epochs(self, epoch: int, epoch_seconds: float) -> int:
        """Epochs that fit the time budget (max_epochs without one), counting `epoch` done."""
        budget = self.config.time_budget_s
        if budget is None or epoch_seconds <= 0:
            return self.config.max_epochs
        left = budget - (self.clock() - self.t0)
        return max(epoch, min(self.config.max_epochs, epoch + int(left // epoch_seconds)))

    def _epochs(
        self, train_loader: DataLoader[Any], valid_loader: DataLoader[Any] | None,
        lr: float, offset: int, batches: int,
    ) -> TrainResult:
        config = self.config
        freeze = self._freeze_epochs()
        planned = config.max_epochs
        schedule = Schedule(self.optimizer, lr, planned * batches, config.schedule)
        self.schedule = schedule
        adapt_batchnorm(self.model, batches)
        guard = Guard(self.model, self.optimizer, config.max_rollbacks)
        history: list[EpochReport] = []
        best_eval: Evaluation | None = None
        best_loss = lowest_loss = math.inf
        lowest_loss_epoch = 0
        self.done = offset
        started = time.monotonic()
        epoch = 0
        while epoch < planned:
            epoch += 1
            epoch_start = time.monotonic()
            clock_start = self.clock()
            self._set_frozen(epoch <= freeze)
            events: list[str] = []
            try:
                train_loss = self._train_epoch(train_loader, schedule, epoch, batches, started)
            except Diverged as exc:
                train_loss = exc.loss
            evaluation = None
            if valid_loader is not None and math.isfinite(train_loss):
                evaluation = evaluate(
                    self.family, self.model, valid_loader, self.device, self.autocast,
                    self.class_names, config.show_results_count, self.should_stop,
                )
            monitored = evaluation.loss if evaluation else train_loss
            if guard.exploded(train_loss, monitored):
                events.append(guard.roll_back(epoch, monitored if math.isfinite(train_loss) else train_loss, schedule))
                self.progress(self.done, self.total, events[-1])
            report = EpochReport(
                epoch=epoch,
                train_loss=train_loss,
                valid_loss=evaluation.loss if evaluation else None,
                metrics=evaluation.metrics if evaluation else {},
                lr=float(self.optimizer.param_groups[0]["lr"]),
                seconds=time.monotonic() - epoch_start,
                events=tuple(events),
            )
            history.append(report)
            if self.on_epoch is not None:
                self.on_epoch(report)
            self.epoch_clock.append(self.clock() - clock_start)
            planned = self._planned_epochs(epoch, statistics.mean(self.epoch_clock))
            schedule.set_total(planned * batches)
            self.total = offset + planned * batches + 1
            if events:
                continue
            if monitored < lowest_loss:
                lowest_loss, lowest_loss_epoch = monitored, epoch
            if guard.keep_if_best(epoch, score_of(report.metrics, monitored), train_loss):
                best_eval, best_loss = evaluation, monitored
            elif (config.stop_training and schedule.past_half_decay()
                  and epoch - max(guard.best_epoch, lowest_loss_epoch) >= config.patience):
                # a few validation chips make mAP noisy; a falling loss still means progress. At a
                # high rate a plateau is the schedule, not convergence: the low-rate end is where
                # detectors gain most (default runs stopped at 6 of 15 minutes, at the peak rate)
                break
        if guard.best_epoch == 0:
            raise EngineInputError("training diverged in every epoch; lower learning_rate or batch_size")
        self.model.load_state_dict(guard.best_state)
        self._set_frozen(False)
        return self._finish(history, guard.best_epoch, best_loss, best_eval, lr, valid_loader is not None)

    def _train_epoch(
        self, loader: DataLoader[Any], schedule: Schedule, epoch: int, batches: int, started: float,
    ) -> float:
        self.model.train()
        self.train_set.set_epoch(epoch)
        total = torch.zeros((), device=self.device)
        count = 0
        last_message, text = 0.0, ""
        start_done = self.done
        clock_start = self.clock()
        for b, (images, targets) in enumerate(loader, 1):
            self._check_stop()
            try:
                loss = self._step(images, targets)
            except Diverged:
                self.done = start_done + batches
                raise
            schedule.step()
            total += loss
            count += 1
            self.done += 1
            now = time.monotonic()
            if epoch == 1 and b == min(5, batches) and self.config.time_budget_s is not None:
                # a first guess at how many epochs fit, so warm-up is not planned for max_epochs
                guess = (self.clock() - clock_start) / b * batches * 1.15
                schedule.set_total(self._planned_epochs(0, guess) * batches)
            if now - last_message >= MESSAGE_INTERVAL_S or b == batches:
                last_message = now
                mean = float(total) / count
                per_batch = (now - started) / max(self.done - start_done + (epoch - 1) * batches, 1)
                eta = per_batch * (self.total - 1 - self.done)
                epochs = max(1, (self.total - 1) // max(batches, 1))
                text = f"epoch {epoch}/~{epochs}, batch {b}/{batches}, loss {mean:.4f}, ETA {duration(eta)}"
            self.progress(self.done, self.total, text)
        return float(total) / max(count, 1)

    def _finish(
        self, history: list[EpochReport], best_epoch: int, best_loss: float,
        evaluation: Evaluation | None, lr: float, validated: bool,
    ) -> TrainResult:
        self.progress(self.total - 1, self.total, "writing the model package")
        details = evaluation.details if evaluation else {}
        folder = self.folder
        classes = [emd_writer.ClassInfo(c.value, c.name, c.color) for c in folder.classes]
        export = emd_writer.export_definition(folder.root)
        export.setdefault("ImageSpaceUsed", folder.image_space_used)
        if folder.min_cell_size is not None:
            export["MinCellSize"] = folder.min_cell_size.to_json()
        if folder.max_cell_size is not None:
            export["MaxCellSize"] = folder.max_cell_size.to_json()
        emd = emd_writer.model_emd(
            spec=self.spec,
            backbone=self.setup.backbone,
            out_name=self.config.out_name,
            chip_size=self.setup.chip_size,
            bands=self.setup.bands,
            classes=classes,
            scaling=self.setup.scaling,
            metadata_format=folder.metadata_format,
            learning_rate=lr,
            details=details,
            monitored_valid_loss=best_loss if validated else None,
            export=export,
            source_chip_size=max(folder.chip_size),
        )
        package = write_package(
            self.model_dir, self.config.out_name, self.model, emd, history,
            evaluation.examples if evaluation else [], self.family, self.class_names,
            [c.color for c in folder.classes],
        )
        self.progress(self.total, self.total, f"model package written: {package.name}")
        metrics = {"valid_loss": best_loss if validated else None, **copy.deepcopy(details)}
        return TrainResult(
            package_path=package,
            metrics=metrics,
            epochs_run=len(history),
            best_epoch=best_epoch,
            lr=lr,
            history=tuple(history),
            model_dir=self.model_dir,
        )
