"""Writes of layers and features. Views call these; each feature write claims the layer's next seq
(changes.claim_seq), checks, writes, and broadcasts one event after the commit.

Versions: PATCH and DELETE carry the version the client read; the write is a conditional
``UPDATE/DELETE ... WHERE id = ? AND version = ?``, so of several writers holding the same version
exactly one wins and the others get 409 with the current feature (no lost updates).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from backend.api.exceptions import Conflict, DomainError, InvalidInput, NotFound

from ..models import DeletedFeature, Feature, Layer, Project, Raster
from ..permissions import require_role
from .changes import Claim, adjust_layer, claim_seq, write_transaction
from .events import send_after_commit, user_ref
from .geometry import CleanGeometry, clean_geometry
from .schema import check_class_value
from .serialize import RESERVED, class_names, feature_dict

DEFAULT_LAYER_NAME = "Labels"
MAX_ATTRIBUTES_BYTES = 16 * 1024


class PreconditionRequired(DomainError):
    status_code = 428


# layers ----------------------------------------------------------------------------------------
def layer_create(*, user: Any, project: Project, name: str, kind: str = Layer.Kind.LABELS,
                 classes: list[dict[str, Any]] | None = None, source_job_id: int | None = None,
                 check_access: bool = True) -> Layer:
    """A new layer. Jobs that make result layers pass ``check_access=False`` (the job was checked)."""
    if check_access:
        require_role(user, project.pk, write=True)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("name: must not be empty.")
    if kind not in Layer.Kind.values:
        raise InvalidInput(f"kind: must be one of {', '.join(Layer.Kind.values)}.")
    return Layer.objects.create(project=project, name=name[:200], kind=kind, classes=classes or [],
                                source_job_id=source_job_id, created_by=user if getattr(user, "pk", None) else None)


def create_default_layer(project: Project, user: Any) -> None:
    """PROJECT_CREATED_HOOKS: every project starts with a "Labels" layer."""
    Layer.objects.create(project=project, name=DEFAULT_LAYER_NAME, kind=Layer.Kind.LABELS, created_by=user)


def layer_update(*, user: Any, layer: Layer, name: str | None = None) -> Layer:
    require_role(user, layer.project_id, write=True)
    if name is not None:
        name = name.strip()
        if not name:
            raise InvalidInput("name: must not be empty.")
        layer.name = name[:200]
        layer.save(update_fields=["name", "updated_at"])
        send_after_commit(layer.pk, {"type": "layer.updated", "layer": layer.pk, "name": layer.name,
                                     "user": user_ref(user)})
    return layer


def layer_delete(*, user: Any, layer: Layer) -> None:
    """Owners delete labels layers (people's work); editors may delete model output layers."""
    require_role(user, layer.project_id, write=True, admin=layer.kind == Layer.Kind.LABELS)
    layer_id = layer.pk
    with transaction.atomic():
        layer.delete()
        send_after_commit(layer_id, {"type": "layer.deleted", "layer": layer_id, "user": user_ref(user)})


# features --------------------------------------------------------------------------------------
def parse_version(header: str | None, properties: dict[str, Any] | None) -> int:
    """The version a client read: ``If-Match: 3`` (or ``"3"``, ``W/"3"``) or ``properties.version``."""
    from_body = (properties or {}).get("version")
    from_header = None
    if header:
        raw = header.strip().removeprefix("W/").strip('"')
        if not raw.isdigit():
            raise InvalidInput(f"If-Match: {header!r} is not a feature version; send the number from "
                               "properties.version, e.g. If-Match: 3.")
        from_header = int(raw)
    if from_body is not None and (isinstance(from_body, bool) or not isinstance(from_body, int)):
        raise InvalidInput("properties.version: must be the integer version you read.")
    if from_header is not None and from_body is not None and from_header != from_body:
        raise InvalidInput(f"If-Match ({from_header}) and properties.version ({from_body}) disagree; send one.")
    version = from_header if from_header is not None else from_body
    if version is None:
        raise PreconditionRequired(
            "Send the version you read, as an If-Match: <version> header or properties.version, so that "
            "you do not overwrite someone else's change."
        )
    return int(version)


def _split_properties(properties: Any) -> dict[str, Any]:
    if properties is None:
        return {}
    if not isinstance(properties, dict):
        raise InvalidInput("properties: must be an object, e.g. {\"class_value\": 1}.")
    return properties


def _attributes(props: dict[str, Any]) -> dict[str, Any]:
    attrs = {k: v for k, v in props.items() if k not in RESERVED}
    if len(json.dumps(attrs, default=str)) > MAX_ATTRIBUTES_BYTES:
        raise InvalidInput(f"properties: other attributes may take at most {MAX_ATTRIBUTES_BYTES // 1024} KB.")
    return attrs


def _raster_id(project_id: int, value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int) \
            or not Raster.objects.filter(pk=value, project_id=project_id).exists():
        raise InvalidInput("properties.raster: must be the id of a raster of this project (or null).")
    return value


def _confidence(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 <= value <= 1:
        raise InvalidInput("properties.confidence: must be a number between 0 and 1 (or null).")
    return float(value)


REVIEW_STATUSES = ("", "accepted", "rejected")


def _review_status(value: Any) -> str:
    value = "" if value is None else value
    if value not in REVIEW_STATUSES:
        raise InvalidInput('properties.review_status: must be "accepted", "rejected" or "" (not reviewed).')
    return str(value)


def _event(kind: str, claim: Claim, feature: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"type": kind, "layer": claim.layer_id, "seq": claim.seq, "feature": feature, "user": user_ref(user)}


def _dict_with(feature: Feature, layer: Layer, claim: Claim, user: Any) -> dict[str, Any]:
    """The feature as the API shows it, kept on the instance (``api_dict``) for the response."""
    # Class names from the schema read under the lock (the layer object may be older).
    layer.project.classes = claim.project_classes
    layer.classes = claim.layer_classes
    feature.api_dict = feature_dict(feature, layer, known=user)  # type: ignore[attr-defined]
    return feature.api_dict  # type: ignore[attr-defined]


def feature_create(*, user: Any, layer: Layer, geometry: Any, properties: Any = None) -> Feature:
    require_role(user, layer.project_id, write=True)
    props = _split_properties(properties)
    geom = clean_geometry(geometry)
    raster_id = _raster_id(layer.project_id, props.get("raster"))
    confidence = _confidence(props.get("confidence"))
    attributes = _attributes(props)
    class_name = str(props.get("class_name") or "")[:200] if layer.kind != Layer.Kind.LABELS else ""
    with write_transaction():
        claim = claim_seq(layer.pk, span=geom.span, count_delta=1)
        class_value = check_class_value(claim, props.get("class_value"))
        feature = Feature.objects.create(
            layer_id=layer.pk, class_value=class_value, class_name=class_name, confidence=confidence,
            raster_id=raster_id, geom_type=geom.geom_type, geometry=geom.text, minx=geom.minx, miny=geom.miny,
            maxx=geom.maxx, maxy=geom.maxy, attributes=attributes, version=1, seq=claim.seq,
            created_by=user, updated_by=user,
        )
        send_after_commit(layer.pk, _event("feature.created", claim, _dict_with(feature, layer, claim, user), user))
    return feature


def _stale(layer: Layer, feature_id: int, version: int) -> DomainError:
    current = Feature.objects.filter(pk=feature_id, layer_id=layer.pk).first()
    if current is None:
        return NotFound(f"Feature {feature_id} not found in this layer (someone deleted it?).")
    editor = current.updated_by.get_username() if current.updated_by_id and current.updated_by else "someone"
    return Conflict(
        f"Feature {feature_id} was changed by {editor} meanwhile: it is at version {current.version}, you sent "
        f"version {version}. Reload it and apply your change again.",
        feature=feature_dict(current, layer),
    )


def feature_update(*, user: Any, layer: Layer, feature_id: int, version: int, geometry: Any = None,
                   properties: Any = None) -> Feature:
    """Change geometry and/or properties. Attributes are merged (a null value removes one).
    ``properties.review_status`` records a review by ``user`` ("" clears it); a change of nothing
    else needs only the reviewer role."""
    props = _split_properties(properties)
    review_only = geometry is None and "review_status" in props and set(props) <= {"review_status", "version"}
    require_role(user, layer.project_id, write=not review_only, review=review_only)
    geom: CleanGeometry | None = clean_geometry(geometry) if geometry is not None else None
    changes: dict[str, Any] = {}
    if geom is not None:
        changes.update(geom_type=geom.geom_type, geometry=geom.text, minx=geom.minx, miny=geom.miny,
                       maxx=geom.maxx, maxy=geom.maxy)
    if "raster" in props:
        changes["raster_id"] = _raster_id(layer.project_id, props["raster"])
    if "confidence" in props:
        changes["confidence"] = _confidence(props["confidence"])
    if "class_name" in props and layer.kind != Layer.Kind.LABELS:
        changes["class_name"] = str(props["class_name"] or "")[:200]
    if "review_status" in props:
        status = _review_status(props["review_status"])
        changes.update(review_status=status, reviewed_by=user if status else None,
                       reviewed_at=timezone.now() if status else None)
    new_attributes = _attributes(props)
    with write_transaction():
        claim = claim_seq(layer.pk, span=geom.span if geom else 0.0)
        if "class_value" in props:
            changes["class_value"] = check_class_value(claim, props["class_value"])
        target = Feature.objects.filter(pk=feature_id, layer_id=layer.pk, version=version)
        if new_attributes:
            current = target.values_list("attributes", flat=True).first()
            if current is None:
                raise _stale(layer, feature_id, version)
            merged = {**current, **new_attributes}
            changes["attributes"] = {k: v for k, v in merged.items() if v is not None}
        updated = target.update(**changes, version=F("version") + 1, seq=claim.seq, updated_by=user,
                                updated_at=timezone.now())
        if not updated:
            raise _stale(layer, feature_id, version)
        feature = Feature.objects.get(pk=feature_id)
        send_after_commit(layer.pk, _event("feature.updated", claim, _dict_with(feature, layer, claim, user), user))
    return feature


def feature_delete(*, user: Any, layer: Layer, feature_id: int, version: int) -> None:
    require_role(user, layer.project_id, write=True)
    with write_transaction():
        claim = claim_seq(layer.pk, count_delta=-1)
        feature = Feature.objects.filter(pk=feature_id, layer_id=layer.pk, version=version).first()
        deleted = Feature.objects.filter(pk=feature_id, layer_id=layer.pk, version=version).delete()[0] if feature else 0
        if not deleted:
            raise _stale(layer, feature_id, version)
        DeletedFeature.objects.create(layer_id=layer.pk, feature_id=feature_id, seq=claim.seq, deleted_by=user)
        send_after_commit(layer.pk, _event("feature.deleted", claim, _dict_with(feature, layer, claim, user), user))


# bulk ------------------------------------------------------------------------------------------
@dataclass
class NewFeature:
    """One feature for features_bulk_create (e.g. a detection); geometry already checked."""

    geometry: CleanGeometry
    class_value: int | None = None
    class_name: str = ""
    confidence: float | None = None
    raster_id: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


def features_bulk_create(*, layer: Layer, features: Iterable[NewFeature], user: Any = None,
                         reason: str = "import", batch_size: int = 2000) -> int:
    """Insert many features as one change (one seq, one ``layer.changed`` event), all or nothing.

    For imports and model output: no per-feature class check (callers map classes first), no access
    check (callers check). Runs in its own transaction, or the caller's, and holds the layer's write
    lock meanwhile: for very large inputs on a layer people edit, call it in chunks (one change each).
    """
    count = 0
    span = 0.0
    now = timezone.now()
    user = user if getattr(user, "pk", None) else None
    with write_transaction():
        claim = claim_seq(layer.pk)
        batch: list[Feature] = []
        for item in features:
            g = item.geometry
            span = max(span, g.span)
            batch.append(Feature(
                layer_id=layer.pk, class_value=item.class_value, class_name=item.class_name[:200],
                confidence=item.confidence, raster_id=item.raster_id, geom_type=g.geom_type, geometry=g.text,
                minx=g.minx, miny=g.miny, maxx=g.maxx, maxy=g.maxy, attributes=item.attributes, version=1,
                seq=claim.seq, created_by=user, updated_by=user, created_at=now, updated_at=now,
            ))
            if len(batch) >= batch_size:
                Feature.objects.bulk_create(batch)
                count += len(batch)
                batch = []
        if batch:
            Feature.objects.bulk_create(batch)
            count += len(batch)
        adjust_layer(layer.pk, span=span, count_delta=count)
        send_after_commit(layer.pk, {"type": "layer.changed", "layer": layer.pk, "seq": claim.seq, "reason": reason,
                                     "count": count, "user": user_ref(user)})
    return count


__all__ = [
    "DEFAULT_LAYER_NAME", "NewFeature", "PreconditionRequired", "class_names", "create_default_layer",
    "feature_create", "feature_delete", "feature_update", "features_bulk_create", "layer_create", "layer_delete",
    "layer_update", "parse_version",
]
