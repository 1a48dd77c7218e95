"""The project's class schema: [{value, name, color: [r, g, b]}]."""
from __future__ import annotations

from typing import Any

from backend.api.exceptions import InvalidInput


def validate_classes(classes: Any) -> list[dict[str, Any]]:
    if not isinstance(classes, list):
        raise InvalidInput("classes: must be a list of {value, name, color}.")
    cleaned: list[dict[str, Any]] = []
    values: set[int] = set()
    names: set[str] = set()
    for index, item in enumerate(classes):
        where = f"classes[{index}]"
        if not isinstance(item, dict):
            raise InvalidInput(f"{where}: must be an object with value, name and color.")
        value = item.get("value")
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InvalidInput(f"{where}.value: must be an integer greater than 0 (0 means no data).")
        name = str(item.get("name", "")).strip()
        if not name:
            raise InvalidInput(f"{where}.name: must not be empty.")
        color = item.get("color", [255, 0, 0])
        if (not isinstance(color, (list, tuple)) or len(color) != 3
                or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in color)):
            raise InvalidInput(f"{where}.color: must be [r, g, b] with integers 0..255.")
        if value in values:
            raise InvalidInput(f"{where}.value: {value} is used twice; class values must be unique.")
        if name.lower() in names:
            raise InvalidInput(f"{where}.name: {name!r} is used twice; class names must be unique.")
        values.add(value)
        names.add(name.lower())
        cleaned.append({"value": value, "name": name, "color": [int(c) for c in color]})
    return cleaned
