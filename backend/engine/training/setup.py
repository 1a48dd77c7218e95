"""Checks and derived settings of a training run, decided before anything is written."""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from backend.engine.chips.reader import TrainingFolder, band_stats_from_chips
from backend.engine.errors import EngineInputError
from backend.engine.nets import weights as weights_store
from backend.engine.nets.catalog import ArchSpec, arch_spec
from backend.engine.nets.normalization import InputScaling, scaling_from_band_stats
from backend.engine.training.config import PretrainedSource, TrainConfig
from backend.engine.training.data import check_format
from backend.engine.training.finetune import check_compatible
from backend.engine.training.recipes import training_backbone

STATS_SAMPLE_LIMIT = 500  # chips read to compute band statistics when the export has none


@dataclass(frozen=True)
class RunSetup:
    spec: ArchSpec
    backbone: str
    chip_size: int
    bands: int
    scaling: InputScaling
    device: torch.device


def resolve_device(name: str) -> torch.device:
    if name == "cuda":
        if not torch.cuda.is_available():
            raise EngineInputError(
                "a GPU was requested but this worker has no CUDA device; choose CPU or run the "
                "job on a GPU worker"
            )
        return torch.device("cuda")
    return torch.device("cpu")


def folder_scaling(folder: TrainingFolder) -> InputScaling:
    """How chips of this export become model inputs (ImageNet for 8-bit RGB, else band stats)."""
    if folder.is_8bit_rgb:
        # RGBA chips too: ImageNet statistics for RGB, their average for the 4th band, exactly
        # what scaling_from_emd gives a 4-band package without NormalizationStats at inference
        return replace(scaling_from_band_stats((), (), (), (), True), bands=folder.band_count)
    stats = folder.band_stats or band_stats_from_chips(folder.samples, limit=STATS_SAMPLE_LIMIT)
    if len(stats) != folder.band_count:
        raise EngineInputError(
            f"the export's band statistics cover {len(stats)} bands but its chips have "
            f"{folder.band_count}; export the training data again"
        )
    return scaling_from_band_stats(
        [s.minimum for s in stats], [s.maximum for s in stats],
        [s.mean for s in stats], [s.std for s in stats], False,
    )


def run_setup(config: TrainConfig, folder: TrainingFolder, pretrained: PretrainedSource | None) -> RunSetup:
    config.validate()
    spec = arch_spec(config.model_type)
    default = pretrained.emd.backbone_name if pretrained is not None else None
    backbone = spec.check_backbone(config.backbone or default or training_backbone(spec))
    check_format(spec.family, spec.name, folder.metadata_format)
    if not folder.classes:
        raise EngineInputError("the training data defines no classes")
    if not folder.samples:
        raise EngineInputError("the training data holds no labelled chips")
    chip_size = config.chip_size or max(folder.chip_size)
    setup = RunSetup(spec, backbone, chip_size, folder.band_count, folder_scaling(folder), resolve_device(config.device))
    if pretrained is not None:
        check_compatible(spec, backbone, folder.band_count, pretrained)
    return setup


def starting_weights(
    arch: str, backbone: str, bands: int, use_pretrained: bool, on_bytes: weights_store.DownloadProgress,
) -> weights_store.Start:
    """Where the model starts (a COCO detector or its backbone); downloads torchvision's file
    first when that is the plan (a failed download falls back to the backbone, and says why)."""
    start = weights_store.resolve_model(arch, backbone, bands, use_pretrained)
    if start.kind != "download":
        return start
    try:
        weights_store.ensure_downloaded(start.detector or backbone, on_bytes)
    except EngineInputError as exc:
        if start.detector is not None:  # the backbone may still have its ImageNet weights
            fallback = starting_weights("", backbone, bands, use_pretrained, on_bytes)
            return replace(fallback, summary=f"{exc}; {fallback.summary}")
        return weights_store.Start(backbone, "random", None, f"{exc}; {backbone} starts from random weights")
    return weights_store.resolve_model(arch, backbone, bands, use_pretrained)


def adapt_batchnorm(model: nn.Module, batches: int) -> None:
    """Let batch-norm running statistics follow the weights of the current epoch.

    Validation and the saved model use running statistics. With the default momentum
    (0.1, a memory of ~10 batches) an epoch of only a few batches leaves them describing
    the weights of several epochs ago, which ruins eval-mode predictions of short runs
    from scratch. A momentum of at least 2/batches keeps the memory within about an epoch;
    long epochs keep the layers' own momentum.
    """
    floor = min(1.0, 2.0 / batches)
    for module in model.modules():
        if isinstance(module, _BatchNorm) and module.momentum is not None:
            module.momentum = max(module.momentum, floor)


def duration(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
