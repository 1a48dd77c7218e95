"""Features as GeoJSON: one Feature as a dict, many as JSON text built from stored geometry text
(the geometry is never parsed on the way out)."""
from __future__ import annotations

import json
from typing import Any, Iterable

from django.contrib.auth import get_user_model

from ..models import Feature, Layer

# Columns read for output (``.values(*ROW_FIELDS)``).
ROW_FIELDS = ("id", "class_value", "class_name", "confidence", "raster_id", "geometry", "attributes", "version",
              "seq", "created_by_id", "updated_by_id", "created_at", "updated_at", "review_status", "reviewed_by_id")
# Property names the API owns; attributes of the same name (e.g. from an imported file) are hidden.
RESERVED = frozenset({"class_value", "class_name", "confidence", "raster", "version", "seq", "author", "editor",
                      "created_at", "updated_at", "id", "fid", "review_status", "reviewer"})


def class_names(layer: Layer, project_classes: list[dict[str, Any]] | None = None) -> dict[int, str]:
    """value -> name: the project's schema, then the layer's own table (a model's classes)."""
    table = project_classes if project_classes is not None else layer.project.classes
    names = {int(c["value"]): str(c["name"]) for c in table}
    names.update({int(c["value"]): str(c["name"]) for c in (layer.classes or []) if "value" in c})
    return names


def usernames(ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    model = get_user_model()
    return dict(model.objects.filter(pk__in=wanted).values_list("pk", model.USERNAME_FIELD))


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def properties(row: dict[str, Any], names: dict[int, str], users: dict[int, str]) -> dict[str, Any]:
    props = {k: v for k, v in (row["attributes"] or {}).items() if k not in RESERVED}
    value = row["class_value"]
    props.update({
        "class_value": value,
        "class_name": row["class_name"] or (names.get(value, "") if value is not None else ""),
        "confidence": row["confidence"],
        "raster": row["raster_id"],
        "version": row["version"],
        "seq": row["seq"],
        "author": users.get(row["created_by_id"]) if row["created_by_id"] else None,
        "editor": users.get(row["updated_by_id"]) if row["updated_by_id"] else None,
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "review_status": row["review_status"],
        "reviewer": users.get(row["reviewed_by_id"]) if row["reviewed_by_id"] else None,
    })
    return props


def row_of(feature: Feature) -> dict[str, Any]:
    return {name: getattr(feature, name) for name in ROW_FIELDS}


def feature_dict(feature: Feature, layer: Layer | None = None, known: Any = None) -> dict[str, Any]:
    """``known``: a user already at hand (e.g. the writer), saving the username query."""
    layer = layer or feature.layer
    row = row_of(feature)
    ids = {row["created_by_id"], row["updated_by_id"], row["reviewed_by_id"]} - {None}
    if known is not None and getattr(known, "pk", None) and ids <= {known.pk}:
        users = {known.pk: known.get_username()}
    else:
        users = usernames(ids)
    return {"type": "Feature", "id": feature.pk, "geometry": json.loads(feature.geometry),
            "properties": properties(row, class_names(layer), users)}


def feature_texts(rows: list[dict[str, Any]], layer: Layer) -> Iterable[str]:
    """Each row as Feature JSON text."""
    names = class_names(layer)
    users = usernames([r["created_by_id"] for r in rows] + [r["updated_by_id"] for r in rows]
                      + [r["reviewed_by_id"] for r in rows])
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
    for row in rows:
        yield ('{"type":"Feature","id":' + str(row["id"]) + ',"geometry":' + row["geometry"]
               + ',"properties":' + dumps(properties(row, names, users)) + "}")


def collection_text(rows: list[dict[str, Any]], layer: Layer, members: dict[str, Any]) -> str:
    """A FeatureCollection with extra top-level members (e.g. seq, deleted)."""
    head = "".join(f',"{k}":{json.dumps(v, separators=(",", ":"))}' for k, v in members.items())
    return '{"type":"FeatureCollection"' + head + ',"features":[' + ",".join(feature_texts(rows, layer)) + "]}"
