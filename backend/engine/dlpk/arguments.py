"""Inference arguments of a package, with ArcGIS's defaults (esri-dlpk.md §4).

Defaults come, lowest priority first, from:
1. ArcGIS's raster functions (padding = tile_size // 4, threshold 0.5 or 0.9 for MaskRCNN, ...);
2. keys of the .emd that ArcGIS also reads as defaults: `Threshold`, `test_time_augmentation`,
   `Padding` / `ModelPadding` (legacy and custom raster functions);
3. Rasterlab's `ArgumentDefaults` object in the .emd (defaults edited by users), e.g.
   `"ArgumentDefaults": {"threshold": 0.3, "padding": 64}`.
A default from 2 or 3 that is invalid (wrong type, out of range) is ignored; validate edits with
`coerce_arguments` before storing them.

A `BatchSize` in the .emd fixes batch_size: the argument is not listed and
`coerce_arguments` always returns the package's value.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

from backend.engine.dlpk.emd import Emd
from backend.engine.dlpk.families import model_family
from backend.engine.errors import EngineInputError

ArgumentType = Literal["int", "float", "bool", "str", "choice"]
FALLBACK_TILE_SIZE = 256
"""Model chip size assumed when the .emd has neither ImageHeight nor ImageWidth."""

_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


@dataclass(frozen=True)
class ArgumentSpec:
    name: str
    type: ArgumentType
    default: Any
    description: str
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    """For padding: the maximum at the default tile size (it grows with tile_size)."""


def tile_size_default(emd: Emd) -> int:
    return emd.image_height or emd.image_width or FALLBACK_TILE_SIZE


def max_padding(tile_size: int) -> int:
    # Chips step by tile_size - 2 * padding: that step must stay positive.
    return max(0, (tile_size - 1) // 2)


def _padding(tile: int) -> ArgumentSpec:
    return ArgumentSpec(
        "padding", "int", tile // 4,
        "Pixels of overlap on each side of every chip; objects are kept in the chip that holds "
        "their centre. Try a few multiples of 8 on a small extent.",
        minimum=0, maximum=max_padding(tile),
    )


# Upper bounds keep a typo (batch_size 1000000000) a 400 at job creation instead of a worker
# that dies allocating terabytes.
MAX_BATCH_SIZE = 1024
MAX_TILE_SIZE = 8192


def _batch_size(default: int) -> ArgumentSpec:
    return ArgumentSpec(
        "batch_size", "int", default,
        "Chips processed per step; lower it if the device runs out of memory.", minimum=1,
        maximum=MAX_BATCH_SIZE,
    )


def _threshold(default: float) -> ArgumentSpec:
    return ArgumentSpec(
        "threshold", "float", default, "Minimum confidence (0-1) of a result to keep.",
        minimum=0.0, maximum=1.0,
    )


def _tta() -> ArgumentSpec:
    return ArgumentSpec(
        "test_time_augmentation", "bool", False,
        "Also predict flipped and rotated copies of each chip and merge the results (slower).",
    )


def _tile_size(tile: int) -> ArgumentSpec:
    return ArgumentSpec(
        "tile_size", "int", tile, "Chip size in pixels fed to the model.", minimum=1,
        maximum=MAX_TILE_SIZE,
    )


def _detector_specs(emd: Emd, tile: int, yolo: bool) -> list[ArgumentSpec]:
    return [
        _padding(tile),
        _threshold(0.1 if yolo else 0.5),
        ArgumentSpec(
            "nms_overlap", "float", 0.1,
            "Overlap (IoU, 0-1) above which boxes of one chip are merged by non-maximum "
            "suppression.",
            minimum=0.0, maximum=1.0,
        ),
        _batch_size(4 if yolo else 64),
        ArgumentSpec(
            "exclude_pad_detections", "bool", True,
            "Drop boxes touching the edge of their chip (usually cut-off objects).",
        ),
        _tta(),
    ]


def _instance_specs(emd: Emd, tile: int) -> list[ArgumentSpec]:
    return [
        _padding(tile),
        _batch_size(4),
        _threshold(0.9),
        ArgumentSpec(
            "return_bboxes", "bool", False, "Return bounding rectangles instead of mask outlines.",
        ),
        _tta(),
        ArgumentSpec(
            "merge_policy", "choice", "mean",
            "How test-time-augmentation predictions are merged.", choices=("mean", "max", "min"),
        ),
    ]


def predict_background_default(emd: Emd) -> bool:
    """False when no class has Value 0 and there are at least two classes (ArcGIS's rule)."""
    return not (len(emd.classes) >= 2 and all(c.value != 0 for c in emd.classes))


def _pixel_specs(emd: Emd, tile: int) -> list[ArgumentSpec]:
    return [
        _padding(tile),
        _batch_size(4),
        ArgumentSpec(
            "predict_background", "bool", predict_background_default(emd),
            "Allow pixels to be classified as background/NoData (class index 0).",
        ),
        _tta(),
    ]


def _object_classifier_specs(emd: Emd) -> list[ArgumentSpec]:
    specs = [_batch_size(4)]
    if emd.meta_data_mode == "MultiLabeled_Tiles":
        specs.append(_threshold(0.5))
    specs.append(_tta())
    return specs


def _arcgis_specs(emd: Emd) -> list[ArgumentSpec]:
    info = model_family(emd)
    tile = tile_size_default(emd)
    if info.family == "object_detection":
        specs = _detector_specs(emd, tile, yolo=info.architecture == "YOLOv3")
    elif info.family == "instance_detection":
        specs = _instance_specs(emd, tile)
    elif info.family == "pixel_classification":
        specs = _pixel_specs(emd, tile)
    elif info.family == "object_classification":
        specs = _object_classifier_specs(emd)
    else:
        return []
    if emd.supports_variable_tile_size and info.family != "object_classification":
        specs.append(_tile_size(tile))
    if emd.batch_size is not None:
        specs = [s for s in specs if s.name != "batch_size"]
    return specs


def _emd_defaults(emd: Emd) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "threshold": emd.threshold,
        "test_time_augmentation": emd.test_time_augmentation,
        "padding": emd.padding if emd.padding is not None else emd.model_padding,
    }
    defaults = {k: v for k, v in defaults.items() if v is not None}
    defaults.update(emd.argument_defaults or {})
    return defaults


def inference_arguments(emd: Emd) -> list[ArgumentSpec]:
    """The arguments a user may set for this package, with defaults (empty if no family)."""
    overrides = _emd_defaults(emd)
    specs = []
    for spec in _arcgis_specs(emd):
        if spec.name in overrides:
            try:
                spec = replace(spec, default=_coerce(spec, overrides[spec.name]))
            except EngineInputError:
                pass  # a bad stored default must not make the package unusable
        specs.append(spec)
    return specs


def _coerce(spec: ArgumentSpec, raw: Any) -> Any:
    value = _convert(spec, raw)
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = spec.minimum, spec.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            if high is None:
                span = f"at least {_fmt(low)}"
            elif low is None:
                span = f"at most {_fmt(high)}"
            else:
                span = f"between {_fmt(low)} and {_fmt(high)}"
            raise EngineInputError(f"{spec.name} must be {span}, got {value}")
    return value


def _fmt(number: float | None) -> str:
    return f"{number:g}" if number is not None else ""


def _convert(spec: ArgumentSpec, raw: Any) -> Any:
    name, kind = spec.name, spec.type
    text = raw.strip() if isinstance(raw, str) else None
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if text is not None and text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise EngineInputError(f"{name} must be true or false, got {raw!r}")
    if kind == "int":
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        if text is not None and text.lstrip("+-").isdigit():
            return int(text)
        raise EngineInputError(f"{name} must be a whole number, got {raw!r}")
    if kind == "float":
        number: float | None = None
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            number = float(raw)
        elif text is not None:
            try:
                number = float(text)
            except ValueError:
                number = None
        if number is None or not math.isfinite(number):
            raise EngineInputError(f"{name} must be a number, got {raw!r}")
        return number
    if kind == "choice":
        choices = spec.choices or ()
        for choice in choices:
            if text is not None and text.lower() == choice.lower():
                return choice
        raise EngineInputError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    if text is None:
        raise EngineInputError(f"{name} must be text, got {raw!r}")
    return raw


def coerce_arguments(emd: Emd, given: dict[str, Any]) -> dict[str, Any]:
    """Validate user-given arguments and fill in defaults.

    Returns every listed argument (plus batch_size when the package fixes it). Values given as
    strings ("True", "0.5", "64") are converted. Raises EngineInputError naming the argument for
    an unknown name, a wrong type or a value out of range (threshold 0-1, padding
    0..(tile_size-1)//2, batch_size >= 1).
    """
    specs = {spec.name: spec for spec in inference_arguments(emd)}
    fixed = emd.batch_size
    for name in given:
        if name in specs or (name == "batch_size" and fixed is not None):
            continue
        known = ", ".join(specs) or "none"
        raise EngineInputError(f"unknown argument {name!r} for this model; it takes: {known}")
    out: dict[str, Any] = {}
    tile = tile_size_default(emd)
    if "tile_size" in specs:
        spec = specs["tile_size"]
        tile = _coerce(spec, given["tile_size"]) if "tile_size" in given else spec.default
    for name, spec in specs.items():
        if name == "tile_size":
            out[name] = tile
        elif name == "padding":
            spec = replace(spec, maximum=max_padding(tile))
            if "padding" in given:
                out[name] = _coerce(spec, given[name])
            else:
                # A default stored in the .emd wins while it fits the tile size; otherwise
                # padding follows the tile size as in ArcGIS.
                stored = spec.default != tile_size_default(emd) // 4
                fits = spec.default <= max_padding(tile)
                out[name] = spec.default if stored and fits else tile // 4
        elif name in given:
            out[name] = _coerce(spec, given[name])
        else:
            out[name] = spec.default
    if fixed is not None:
        if "batch_size" in given:
            value = _coerce(_batch_size(fixed), given["batch_size"])
            if value != fixed:
                raise EngineInputError(
                    f"batch_size is fixed to {fixed} by this package (BatchSize in its .emd)"
                )
        out["batch_size"] = fixed
    return out
