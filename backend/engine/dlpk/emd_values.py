"""Converters between .emd JSON values and typed values: scalars and lists.

Every converter is tolerant in the ways real files need: placeholder strings written by older
Export Training Data tools ("e.g. 256") read as None, numbers given as strings are read as
numbers. Anything else of the wrong type raises EngineInputError naming the key.
"""
from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from typing import Any, Final

from backend.engine.errors import EngineInputError


class Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = Missing()
"""Stands for "the key was not in the original emd" when dumping a value."""

Parse = Callable[[Any, str], Any]
Dump = Callable[[Any, Any], Any]

_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


def is_placeholder(raw: Any) -> bool:
    """Template text of older export emds, e.g. "e.g. 256" or "e.g. [0, 1, 2]"."""
    return isinstance(raw, str) and raw.strip().lower().startswith("e.g.")


def bad(key: str, expected: str, raw: Any) -> EngineInputError:
    shown = repr(raw)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return EngineInputError(f"{key} must be {expected}, got {shown}")


def to_json(value: Any) -> Any:
    """Tuples become lists (recursively); other JSON values are copied."""
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


# --- scalars ---------------------------------------------------------------------------------


def parse_text(raw: Any, key: str) -> str | None:
    if raw is None or is_placeholder(raw):
        return None
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return str(raw)
    raise bad(key, "a string", raw)


def parse_int(raw: Any, key: str) -> int | None:
    if raw is None or is_placeholder(raw):
        return None
    if isinstance(raw, bool):
        raise bad(key, "a whole number", raw)
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str):
        text = raw.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if number.is_integer():
                return int(number)
    raise bad(key, "a whole number", raw)


def parse_float(raw: Any, key: str) -> float | None:
    if raw is None or is_placeholder(raw):
        return None
    if isinstance(raw, bool):
        raise bad(key, "a number", raw)
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw.strip())
        except ValueError:
            pass
    raise bad(key, "a number", raw)


def parse_flag(raw: Any, key: str) -> bool | None:
    if raw is None or is_placeholder(raw):
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    raise bad(key, "true/false (or 1/0)", raw)


def dump_flag(value: bool, raw: Any) -> Any:
    # Esri writes CropSizeFixed/BlackenAroundFeature as 1/0: keep whichever form the file used.
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return int(value)
    return bool(value)


def dump_plain(value: Any, raw: Any) -> Any:  # noqa: ARG001
    return to_json(value)


# --- containers ------------------------------------------------------------------------------


def parse_json(raw: Any, key: str) -> Any:  # noqa: ARG001
    """Any JSON value kept as-is (copied); placeholders read as None."""
    return None if is_placeholder(raw) else copy.deepcopy(raw)


def parse_dict(raw: Any, key: str) -> dict[str, Any] | None:
    if raw is None or is_placeholder(raw):
        return None
    if isinstance(raw, dict):
        return copy.deepcopy(raw)
    raise bad(key, "an object", raw)


def parse_model_parameters(raw: Any, key: str) -> dict[str, Any]:
    return parse_dict(raw, key) or {}


def parse_model_configuration(raw: Any, key: str) -> str | dict[str, Any] | None:
    if isinstance(raw, dict):
        return copy.deepcopy(raw)
    return parse_text(raw, key)


def maybe_json_list(raw: Any, key: str, expected: str) -> list[Any] | None:
    if raw is None or is_placeholder(raw):
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise bad(key, expected, raw) from None
    if not isinstance(raw, list):
        raise bad(key, expected, raw)
    return raw


def parse_bands(raw: Any, key: str) -> tuple[int | str, ...] | None:
    """ExtractBands: 0-based band indices, or band names (allowed by the Esri docs)."""
    items = maybe_json_list(raw, key, "a list of band indices or band names")
    if items is None:
        return None
    bands: list[int | str] = []
    for item in items:
        if isinstance(item, str) and not item.strip().lstrip("-").isdigit():
            bands.append(item)
        else:
            number = parse_int(item, key)
            if number is None:
                raise bad(key, "a list of band indices or band names", raw)
            bands.append(number)
    return tuple(bands)


def parse_int_list(raw: Any, key: str) -> tuple[int, ...] | None:
    items = maybe_json_list(raw, key, "a list of whole numbers")
    if items is None:
        return None
    out = tuple(parse_int(v, key) for v in items)
    if any(v is None for v in out):
        raise bad(key, "a list of whole numbers", raw)
    return tuple(v for v in out if v is not None)


def parse_resize_to(raw: Any, key: str) -> int | tuple[int, int] | None:
    if isinstance(raw, list):
        pair = parse_int_list(raw, key)
        if pair is None or len(pair) != 2:
            raise bad(key, "null, a whole number or [height, width]", raw)
        return (pair[0], pair[1])
    return parse_int(raw, key)


def parse_data_range(raw: Any, key: str) -> tuple[float, float] | None:
    items = maybe_json_list(raw, key, "[min, max]")
    if items is None:
        return None
    values = [parse_float(v, key) for v in items]
    if len(values) != 2 or values[0] is None or values[1] is None:
        raise bad(key, "[min, max]", raw)
    return (values[0], values[1])
