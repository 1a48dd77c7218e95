"""Converters for `Classes`: Value/Name/Color objects (or ClassValue/ClassName)."""
from __future__ import annotations

import copy
from typing import Any

from backend.engine.dlpk.emd_types import ClassKeyStyle, EmdClass, Rgb
from backend.engine.dlpk.emd_values import bad, is_placeholder, parse_int, parse_text, to_json
from backend.engine.errors import EngineInputError

_CLASS_KEYS = frozenset({"Value", "Name", "Color", "ClassValue", "ClassName"})


def parse_color(raw: Any, key: str) -> Rgb | None:
    if raw is None or is_placeholder(raw):
        return None
    if not isinstance(raw, list) or len(raw) < 3:
        raise bad(key, "[red, green, blue]", raw)
    rgb = [parse_int(v, key) for v in raw[:3]]
    if any(v is None for v in rgb):
        raise bad(key, "[red, green, blue]", raw)
    r, g, b = (int(v) for v in rgb if v is not None)
    if (r, g, b) == (-1, -1, -1):  # the export tool's "unknown color"
        return None
    if not all(0 <= v <= 255 for v in (r, g, b)):
        raise bad(key, "[red, green, blue] with values 0..255", raw)
    return (r, g, b)


def parse_class(raw: Any, key: str) -> EmdClass:
    if not isinstance(raw, dict):
        raise bad(key, 'an object {"Value", "Name", "Color"}', raw)
    value_raw = raw["Value"] if "Value" in raw else raw.get("ClassValue")
    value = parse_int(value_raw, f"{key}.Value")
    if value is None:
        raise EngineInputError(f"{key} needs a whole-number Value (or ClassValue)")
    name_raw = raw["Name"] if "Name" in raw else raw.get("ClassName")
    name = parse_text(name_raw, f"{key}.Name")
    return EmdClass(
        value=value,
        name=str(value) if name is None else name,
        color=parse_color(raw.get("Color"), f"{key}.Color"),
        extras={k: copy.deepcopy(v) for k, v in raw.items() if k not in _CLASS_KEYS},
    )


def parse_classes(raw: Any, key: str) -> tuple[EmdClass, ...]:
    if raw is None or is_placeholder(raw):
        return ()
    if not isinstance(raw, list):
        raise bad(key, "a list of classes", raw)
    return tuple(parse_class(item, f"{key}[{i}]") for i, item in enumerate(raw))


def class_key_style(raw: Any) -> ClassKeyStyle:
    """"ClassValue" when the first class uses ClassValue/ClassName keys, else "Value"."""
    if isinstance(raw, list) and raw and isinstance(raw[0], dict):
        if "ClassValue" in raw[0] and "Value" not in raw[0]:
            return "ClassValue"
    return "Value"


def dump_class(cls: EmdClass, style: str, raw: Any) -> dict[str, Any]:
    """One class in the file's key style; the original object when nothing changed."""
    if isinstance(raw, dict):
        try:
            if parse_class(raw, "Classes") == cls:
                return copy.deepcopy(raw)
        except EngineInputError:
            pass
    value_key, name_key = ("Value", "Name")
    if style == "ClassValue":
        value_key, name_key = ("ClassValue", "ClassName")
    out: dict[str, Any] = {value_key: cls.value, name_key: cls.name}
    if cls.color is not None:
        out["Color"] = list(cls.color)
    elif not isinstance(raw, dict) or "Color" in raw:
        # arcgis.learn reads Color for every class; [-1,-1,-1] is the export tool's "unknown".
        out["Color"] = [-1, -1, -1]
    out.update(to_json(cls.extras))
    return out
