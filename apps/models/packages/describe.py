"""What the catalog shows of a package, derived from its .emd (plain dicts, JSON-ready)."""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from backend.engine.dlpk import CellSize, Emd, emd_to_dict, inference_arguments, model_family, parse_emd

IMAGES_FOLDER = "modelcharacteristics"
# Keys arcgis.learn writes with training metrics besides accuracy / AP / per-class tables.
_MONITORED_PREFIX = "monitored_"


def emd_columns(emd: Emd) -> dict[str, Any]:
    """The ModelPackage columns that copy the .emd (set on upload and after every edit)."""
    from .runtimes import apply_policy

    family = model_family(emd)
    return apply_policy({
        "framework": (emd.framework or "")[:200],
        "model_type": (emd.model_type or "")[:64],
        "model_name": (emd.model_name or emd.model_configuration_name or "")[:200],
        "architecture": (family.architecture or "")[:64],
        "backbone": (emd.backbone_name or "")[:100],
        "family": family.family or "",
        "runnable": family.runnable,
        "runnable_reason": family.reason,
        "emd": emd_to_dict(emd),
    }, emd)


def stored_emd(emd_json: dict[str, Any]) -> Emd:
    """The Emd of a stored row (its JSON was written by emd_to_dict, so it always parses)."""
    return parse_emd(emd_json)


def classes_json(emd: Emd) -> list[dict[str, Any]]:
    return [{"value": c.value, "name": c.name, "color": list(c.color) if c.color else None} for c in emd.classes]


def _cell(size: CellSize | None) -> float | None:
    if size is None:
        return None
    # Square cells are the norm; report the larger side when they are not.
    return max(size.x, size.y)


def cell_size_json(emd: Emd) -> dict[str, Any] | None:
    """Recommended cell size range (MinCellSize..MaxCellSize) in the units of `wkid`."""
    low, high = emd.min_cell_size, emd.max_cell_size
    if low is None and high is None:
        return None
    srs = low if low is not None and (low.wkid or low.latest_wkid) else high
    return {
        "min": _cell(low),
        "max": _cell(high),
        "wkid": (srs.latest_wkid or srs.wkid) if srs is not None else None,
    }


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def metrics_json(emd: Emd) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if emd.accuracy is not None:
        out["accuracy"] = emd.accuracy
    if emd.average_precision_score:
        out["average_precision_score"] = emd.average_precision_score
    if emd.per_class_metrics:
        out["per_class_metrics"] = emd.per_class_metrics
    for key, value in emd.extras.items():
        if key.startswith(_MONITORED_PREFIX) and isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = value
    return _finite(out)


def image_members(names: Iterable[str]) -> list[str]:
    """The ModelCharacteristics/*.png members (loss graph, show results, confusion matrix)."""
    found = []
    for name in names:
        parts = name.split("/")
        if len(parts) == 2 and parts[0].lower() == IMAGES_FOLDER and parts[1].lower().endswith(".png"):
            found.append(name)
    return found


def arguments_json(emd: Emd) -> list[dict[str, Any]]:
    """The inference arguments with their defaults (engine `inference_arguments`)."""
    return [
        {
            "name": spec.name, "type": spec.type, "default": spec.default, "description": spec.description,
            "choices": list(spec.choices) if spec.choices is not None else None,
            "minimum": spec.minimum, "maximum": spec.maximum,
        }
        for spec in inference_arguments(emd)
    ]
