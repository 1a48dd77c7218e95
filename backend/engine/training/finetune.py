"""Start training from a package's weights (ours, or an Esri MaskRCNN / FasterRCNN /
FeatureClassifier package).

Every weight whose name and shape fit is loaded. Class heads are rebuilt row by row: a class
whose Value exists in both the package and the new training data keeps its trained rows (even
when its position changed), background keeps its rows, and new classes start fresh.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from backend.engine.errors import EngineInputError
from backend.engine.nets.catalog import ArchSpec
from backend.engine.nets.heads import ClassHead, class_head_for
from backend.engine.nets.predictor import band_indices, load_weights, resolve_arch, weights_path
from backend.engine.training.config import PretrainedSource

# Below this share of loaded weights the package is not a useful starting point.
MIN_LOADED_SHARE = 0.5


@dataclass(frozen=True)
class FineTuneReport:
    loaded: int  # tensors copied whole
    remapped: tuple[str, ...]  # class-head tensors rebuilt row by row
    skipped: tuple[str, ...]  # tensors left at their fresh initialisation
    kept_classes: tuple[int, ...]  # class Values whose head rows came from the package
    new_classes: tuple[int, ...]  # class Values that start from scratch

    def message(self) -> str:
        text = f"fine-tuning: loaded {self.loaded} weight tensors"
        if self.new_classes:
            text += f"; new classes {list(self.new_classes)} start from scratch"
        if self.skipped:
            text += f"; {len(self.skipped)} tensors did not fit and start from scratch"
        return text


def check_compatible(spec: ArchSpec, backbone: str, in_channels: int, source: PretrainedSource) -> None:
    src_spec, src_backbone = resolve_arch(source.emd)
    if src_spec.name != spec.name:
        raise EngineInputError(
            f"the package to fine-tune is a {src_spec.name} model; set model_type to "
            f"{src_spec.name} to fine-tune it, or train {spec.name} without a pretrained model"
        )
    if src_backbone != backbone:
        raise EngineInputError(
            f"the package to fine-tune uses backbone {src_backbone}; set backbone to "
            f"{src_backbone} (or leave it empty)"
        )
    bands = len(band_indices(source.emd))
    if bands != in_channels:
        raise EngineInputError(
            f"the package to fine-tune expects {bands}-band imagery but the training data has "
            f"{in_channels} bands; export training data with the package's bands "
            f"(ExtractBands {list(source.emd.extract_bands or ())}) or train without it"
        )


def _row_map(spec: ArchSpec, old_values: list[int], new_values: list[int]) -> list[int | None]:
    """For each new output index, the old output index holding the same class (or None)."""
    offset = 1 if spec.background else 0
    old_index = {v: i + offset for i, v in enumerate(old_values)}
    mapping: list[int | None] = [0] if spec.background else []
    mapping += [old_index.get(v) for v in new_values]
    return mapping


def _remap(
    head: ClassHead, old: torch.Tensor, fresh: torch.Tensor, mapping: list[int | None], n_old: int
) -> torch.Tensor | None:
    n_new = len(mapping)
    k = head.rows_per_class
    out = fresh.clone()
    if head.interleaved:
        if old.shape[0] % n_old or fresh.shape[0] % n_new or old.shape[0] // n_old != fresh.shape[0] // n_new:
            return None
        anchors = old.shape[0] // n_old
        for a in range(anchors):
            for j, m in enumerate(mapping):
                if m is not None:
                    out[a * n_new + j] = old[a * n_old + m]
        return out
    if old.shape[0] != n_old * k or fresh.shape[0] != n_new * k or old.shape[1:] != fresh.shape[1:]:
        return None
    for j, m in enumerate(mapping):
        if m is not None:
            out[j * k : (j + 1) * k] = old[m * k : (m + 1) * k]
    return out


def load_pretrained(
    model: nn.Module, spec: ArchSpec, class_values: tuple[int, ...], source: PretrainedSource
) -> FineTuneReport:
    """Copy the package's weights into `model` (built for the new classes), in place."""
    state = load_weights(weights_path(source.model_dir, source.emd))
    old_values = [c.value for c in source.emd.classes]
    mapping = _row_map(spec, old_values, list(class_values))
    n_old = len(old_values) + (1 if spec.background else 0)
    target = model.state_dict()
    new_state: dict[str, torch.Tensor] = {}
    loaded, remapped, skipped = 0, [], []
    for key, fresh in target.items():
        old = state.get(key)
        if old is None:
            if not key.endswith("num_batches_tracked"):
                skipped.append(key)
            continue
        head = class_head_for(spec.name, key)
        if head is not None:
            rebuilt = _remap(head, old.to(fresh.dtype), fresh, mapping, n_old)
            if rebuilt is None:
                skipped.append(key)
            else:
                new_state[key] = rebuilt
                remapped.append(key)
        elif old.shape == fresh.shape:
            new_state[key] = old.to(fresh.dtype)
            loaded += 1
        else:
            skipped.append(key)
    relevant = [k for k in target if not k.endswith("num_batches_tracked")]
    if (loaded + len(remapped)) < MIN_LOADED_SHARE * len(relevant):
        raise EngineInputError(
            f"the package's weights do not fit a {spec.name} built for this training data "
            f"(only {loaded + len(remapped)} of {len(relevant)} tensors match); "
            "fine-tune with the same model type, backbone and bands, or train from scratch"
        )
    model.load_state_dict(new_state, strict=False)
    kept = tuple(v for v, m in zip(class_values, mapping[1 if spec.background else 0 :]) if m is not None)
    new = tuple(v for v in class_values if v not in kept)
    return FineTuneReport(loaded, tuple(remapped), tuple(skipped), kept, new)

