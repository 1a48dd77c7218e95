"""Class values of features against the class schema, and schema changes that would orphan labels.

Layers governed by the project's schema: ``labels`` layers, and any layer without a class table of
its own. Detections keep the class table of the model that made them (``Layer.classes``).

A schema change that drops a value still used by features is refused (409, with ``in_use``) unless
it comes with an explicit ``remap`` ``{old value: new value}`` (``project_classes_update``), which
moves those features to the new value in the same transaction.
"""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Case, Count, F, IntegerField, Value, When
from django.utils import timezone

from backend.api.exceptions import Conflict, InvalidInput

from .. import services as project_services
from ..classes import validate_classes
from ..models import Feature, Layer, Project
from ..permissions import require_role
from .changes import Claim
from .events import send_after_commit, user_ref


def governed(kind: str, layer_classes: list[dict[str, Any]] | None) -> bool:
    return kind == Layer.Kind.LABELS or not layer_classes


def check_class_value(claim: Claim, value: Any, *, where: str = "properties.class_value") -> int | None:
    """The class value to store for a feature of the claimed layer; InvalidInput when it is not in
    the schema. Labels must have one; other kinds may leave it empty."""
    table = claim.project_classes if governed(claim.kind, claim.layer_classes) else claim.layer_classes
    if value is None or value == "":
        if claim.kind == Layer.Kind.LABELS:
            raise InvalidInput(f"{where}: required; one of {_listing(table)}.")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).lstrip("-").isdigit():
        raise InvalidInput(f"{where}: must be an integer class value; one of {_listing(table)}.")
    value = int(value)
    if not table:
        if claim.kind == Layer.Kind.LABELS:
            raise InvalidInput(f"{where}: the project has no classes yet; define its class schema first.")
        return value
    if value not in {int(c["value"]) for c in table}:
        raise InvalidInput(f"{where}: {value} is not in the class schema; use one of {_listing(table)}.")
    return value


def _listing(table: list[dict[str, Any]]) -> str:
    if not table:
        return "(no classes defined)"
    return ", ".join(f"{c['value']} ({c['name']})" for c in table)


def _governed_layer_ids(project: Project, *, lock: bool) -> list[int]:
    qs = Layer.objects.filter(project=project).order_by("id")
    if lock:
        qs = qs.select_for_update()
    return [pk for pk, kind, classes in qs.values_list("id", "kind", "classes") if governed(kind, classes)]


def check_classes_change(project: Project, new_classes: list[dict[str, Any]]) -> None:
    """CLASSES_CHANGE_CHECKS hook: refuse a schema that would orphan features; on success, tell the
    project's open layers about the new schema once the change commits (event classes.changed)."""
    layer_ids = _governed_layer_ids(project, lock=True)
    new_values = {int(c["value"]) for c in new_classes}
    orphans = (Feature.objects.filter(layer_id__in=layer_ids, class_value__isnull=False)
               .exclude(class_value__in=new_values).values("class_value").annotate(n=Count("id")).order_by("class_value"))
    in_use = {str(r["class_value"]): r["n"] for r in orphans}
    if in_use:
        names = {int(c["value"]): c["name"] for c in project.classes}
        parts = [f"{v} ({names.get(int(v), '?')}) by {n} feature{'s' if n != 1 else ''}" for v, n in in_use.items()]
        raise Conflict(
            "classes: this change would orphan labels: value " + "; ".join(parts) + ". Keep those classes, or "
            f"move the features with PUT /api/projects/{project.pk}/classes/ "
            '{"classes": [...], "remap": {"old value": new value}}.',
            in_use=in_use,
        )
    for layer_id in Layer.objects.filter(project=project).values_list("id", flat=True):
        send_after_commit(layer_id, {"type": "classes.changed", "layer": layer_id, "classes": new_classes})


def _clean_remap(remap: Any, new_classes: list[dict[str, Any]]) -> dict[int, int]:
    if remap in (None, ""):
        return {}
    if not isinstance(remap, dict):
        raise InvalidInput('remap: must be an object {"old value": new value}.')
    new_values = {c["value"] for c in new_classes}
    cleaned: dict[int, int] = {}
    for old, new in remap.items():
        try:
            old_v, new_v = int(old), int(new)
        except (TypeError, ValueError):
            raise InvalidInput(f"remap: {old!r} -> {new!r}: both must be integer class values.") from None
        if new_v not in new_values:
            raise InvalidInput(f"remap: {old_v} -> {new_v}: {new_v} is not in the new classes.")
        if old_v != new_v:
            cleaned[old_v] = new_v
    return cleaned


def project_classes_update(*, user: Any, project: Project, classes: Any, remap: Any = None) -> Project:
    """Replace the class schema, first moving features of remapped values (``{old: new}``) in every
    governed layer. Each touched layer takes one seq and sends one ``layer.changed`` event."""
    require_role(user, project.pk, write=True)
    new_classes = validate_classes(classes)
    mapping = _clean_remap(remap, new_classes)
    with transaction.atomic():
        layer_ids = _governed_layer_ids(project, lock=True)
        now = timezone.now()
        for layer_id in layer_ids if mapping else []:
            touched = Feature.objects.filter(layer_id=layer_id, class_value__in=list(mapping))
            if not touched.exists():
                continue
            Layer.objects.filter(pk=layer_id).update(seq=F("seq") + 1, updated_at=now)
            seq = Layer.objects.filter(pk=layer_id).values_list("seq", flat=True).get()
            count = touched.update(
                class_value=Case(*[When(class_value=o, then=Value(n)) for o, n in mapping.items()],
                                 output_field=IntegerField()),
                version=F("version") + 1, seq=seq, updated_by=user, updated_at=now,
            )
            send_after_commit(layer_id, {"type": "layer.changed", "layer": layer_id, "seq": seq, "reason": "remap",
                                         "count": count, "user": user_ref(user)})
        return project_services.project_update(user=user, project=project, classes=new_classes)
