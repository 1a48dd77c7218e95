"""Checks and derived settings of a training run, decided before anything is written."""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from backend.engine.chips.reader import TrainingFolder, band_stats_from_chips
from backend.engine.errors import EngineInputError
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
