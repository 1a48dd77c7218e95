"""Edits of a package's .emd (PATCH): validated here, written by services.model_update.

What may change: the Description, class names and colors (never their count or values: the
model's outputs are tied to them), the recommended cell size range and the inference argument
defaults (`ArgumentDefaults`). Everything else in the .emd is kept as it is.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

from backend.api.exceptions import InvalidInput
from backend.engine.dlpk import CellSize, Emd, EmdClass, coerce_arguments, inference_arguments
from backend.engine.errors import EngineInputError

MAX_CLASS_NAME = 200


def _color(raw: Any, where: str) -> tuple[int, int, int] | None:
    if raw is None:
        return None
    if (not isinstance(raw, list | tuple) or len(raw) != 3
            or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in raw)):
        raise InvalidInput(f"{where}.color: must be [r, g, b] with integers 0..255 (or null for none).")
    return (int(raw[0]), int(raw[1]), int(raw[2]))


def edit_classes(emd: Emd, given: Any) -> Emd:
    """Rename and recolor classes, matched by value. Metrics keyed by a renamed class follow it."""
    current = emd.classes
    if not isinstance(given, list):
        raise InvalidInput("classes: must be a list of {value, name, color}.")
    if len(given) != len(current):
        raise InvalidInput(
            f"classes: this package has {len(current)} classes and {len(given)} were given; class names "
            "and colors can be edited, but classes cannot be added or removed (the model predicts exactly these)."
        )
    by_value: dict[int, dict[str, Any]] = {}
    for index, item in enumerate(given):
        where = f"classes[{index}]"
        if not isinstance(item, dict):
            raise InvalidInput(f"{where}: must be an object with value, name and color.")
        value = item.get("value")
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"{where}.value: must be the integer value of one of the package's classes.")
        if value in by_value:
            raise InvalidInput(f"{where}.value: {value} is given twice.")
        by_value[value] = {**item, "_where": where}
    known = {c.value for c in current}
    unknown = sorted(set(by_value) - known)
    if unknown:
        raise InvalidInput(
            f"classes: value {unknown[0]} is not a class of this package (its values are "
            f"{', '.join(str(v) for v in sorted(known))}); class values cannot be changed."
        )
    renamed: dict[str, str] = {}
    names: set[str] = set()
    classes: list[EmdClass] = []
    for cls in current:
        item = by_value[cls.value]
        where = item["_where"]
        name = item.get("name", cls.name)
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput(f"{where}.name: must not be empty.")
        name = name.strip()
        if len(name) > MAX_CLASS_NAME:
            raise InvalidInput(f"{where}.name: at most {MAX_CLASS_NAME} characters.")
        if name.lower() in names:
            raise InvalidInput(f"{where}.name: {name!r} is used twice; class names must be unique.")
        names.add(name.lower())
        color = _color(item["color"], where) if "color" in item else cls.color
        if name != cls.name:
            renamed[cls.name] = name
        classes.append(dataclasses.replace(cls, name=name, color=color))
    return emd.with_changes(classes=tuple(classes), **_renamed_metrics(emd, renamed))


def _rename_keys(table: dict[str, Any] | None, renamed: dict[str, str]) -> dict[str, Any] | None:
    if not table or not any(old in table for old in renamed):
        return table
    return {renamed.get(key, key): value for key, value in table.items()}


def _renamed_metrics(emd: Emd, renamed: dict[str, str]) -> dict[str, Any]:
    if not renamed:
        return {}
    return {
        "average_precision_score": _rename_keys(emd.average_precision_score, renamed),
        "per_class_metrics": _rename_keys(emd.per_class_metrics, renamed),
    }


def _positive(raw: Any, where: str) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw) or raw <= 0:
        raise InvalidInput(f"{where}: must be a number greater than 0 (or null for none).")
    return float(raw)


def _cell(old: CellSize | None, size: float | None, srs: CellSize | None) -> CellSize | None:
    if size is None:
        return None
    if old is not None and max(old.x, old.y) == size:
        return old  # unchanged: keep non-square cells and the spatial reference as they were
    return CellSize(x=size, y=size, wkid=srs.wkid if srs else None, latest_wkid=srs.latest_wkid if srs else None)


def edit_cell_size(emd: Emd, given: Any) -> Emd:
    """`{"min": m, "max": M}` (either may be null) or null: the recommended cell size range, in
    the units of the package's spatial reference (kept from the .emd)."""
    if given is None:
        return emd.with_changes(min_cell_size=None, max_cell_size=None)
    if not isinstance(given, dict) or not set(given) <= {"min", "max", "wkid"}:
        raise InvalidInput('cell_size: must be {"min": number, "max": number} or null.')
    low = _positive(given.get("min"), "cell_size.min")
    high = _positive(given.get("max"), "cell_size.max")
    if low is not None and high is not None and low > high:
        raise InvalidInput(f"cell_size: min ({low:g}) must not be larger than max ({high:g}).")
    srs = emd.min_cell_size or emd.max_cell_size
    return emd.with_changes(
        min_cell_size=_cell(emd.min_cell_size, low, srs),
        max_cell_size=_cell(emd.max_cell_size, high, srs),
    )


def edit_argument_defaults(emd: Emd, given: Any) -> Emd:
    """Replace the stored inference argument defaults (validated as the inference tools will)."""
    if given is None or given == {}:
        return emd.with_changes(argument_defaults=None)
    if not isinstance(given, dict):
        raise InvalidInput('argument_defaults: must be an object such as {"threshold": 0.3} (or null).')
    # Validate against the package as it would be without stored defaults.
    bare = emd.with_changes(argument_defaults=None)
    try:
        coerced = coerce_arguments(bare, given)
    except EngineInputError as exc:
        raise InvalidInput(f"argument_defaults: {exc}.") from exc
    listed = {spec.name for spec in inference_arguments(bare)}
    defaults = {name: coerced[name] for name in given if name in listed}
    return emd.with_changes(argument_defaults=defaults or None)


def edit_description(emd: Emd, text: str) -> Emd:
    return emd.with_changes(description=text.strip() or None)
