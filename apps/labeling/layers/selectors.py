"""Reads of layers and features, limited to what a user may see (404 otherwise)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet

from backend.api.exceptions import InvalidInput, NotFound
from backend.api.params import MAX_ID, parse_id, query_int

from ..models import DeletedFeature, Feature, Layer
from ..permissions import visible_project_ids


def layers_for(user: Any) -> QuerySet[Layer]:
    return Layer.objects.filter(project_id__in=visible_project_ids(user)).select_related("project")


def layer_get(user: Any, layer_id: int) -> Layer:
    layer = layers_for(user).filter(pk=layer_id).first()
    if layer is None:
        raise NotFound("Layer not found.")
    return layer


def feature_get(layer: Layer, feature_id: int) -> Feature:
    feature = Feature.objects.filter(layer=layer, pk=feature_id).first()
    if feature is None:
        raise NotFound(f"Feature {feature_id} not found in this layer (deleted?).")
    return feature


MAX_LIMIT = 1_000_000  # features in one answer; a larger limit is a client error


@dataclass(frozen=True)
class FeatureFilter:
    bbox: tuple[float, float, float, float] | None = None
    class_values: tuple[int, ...] = ()
    min_confidence: float | None = None
    since: int | None = None
    limit: int | None = None
    # "" stands for not reviewed yet (review_status=unreviewed in the query).
    review_statuses: tuple[str, ...] = ()
    # Multi-raster results (issue 17): features of these rasters / acquired on this day (UTC).
    rasters: tuple[int, ...] = ()
    acquired: date | None = None

    @classmethod
    def parse(cls, query: Any) -> "FeatureFilter":
        """From query parameters: bbox=w,s,e,n, class_value=1[,2], min_confidence=0.5, since=<seq>,
        limit=N. Raises InvalidInput naming the bad parameter."""
        bbox = None
        if query.get("bbox"):
            try:
                w, s, e, n = (float(v) for v in query["bbox"].split(","))
            except ValueError:
                raise InvalidInput("bbox: must be west,south,east,north in degrees (EPSG:4326).") from None
            if not (w <= e and s <= n):
                raise InvalidInput("bbox: west must not exceed east, nor south north.")
            bbox = (w, s, e, n)
        try:
            values = tuple(int(v) for v in query.get("class_value", "").split(",") if v.strip())
        except ValueError:
            raise InvalidInput("class_value: must be an integer class value (or several, comma separated).") from None
        if any(abs(v) >= 2**31 for v in values):
            raise InvalidInput("class_value: a class value is a whole number below 2147483648.")
        min_conf = _number(query, "min_confidence", float)
        # Bounded here: a value past the database's integers would fail the query (500) instead.
        since = query_int(query, "since", minimum=0, maximum=MAX_ID)
        limit = query_int(query, "limit", minimum=1, maximum=MAX_LIMIT)
        if min_conf is not None and not 0 <= min_conf <= 1:
            raise InvalidInput("min_confidence: must be between 0 and 1.")
        return cls(bbox, values, min_conf, since, limit, _review_statuses(query.get("review_status", "")),
                   _ids(query.get("raster", ""), "raster"), _day(query.get("acquired", "")))


REVIEW_QUERY = {"accepted": "accepted", "rejected": "rejected", "unreviewed": ""}


def _review_statuses(raw: str) -> tuple[str, ...]:
    names = [v.strip() for v in raw.split(",") if v.strip()]
    bad = [n for n in names if n not in REVIEW_QUERY]
    if bad:
        raise InvalidInput(f"review_status: {bad[0]!r} is not one of accepted, rejected, unreviewed.")
    return tuple(REVIEW_QUERY[n] for n in names)


def _ids(raw: str, name: str) -> tuple[int, ...]:
    return tuple(parse_id(v, name) for v in str(raw).split(",") if v.strip())


def _day(raw: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(str(raw)[:10])
    except ValueError:
        raise InvalidInput("acquired: must be a date, YYYY-MM-DD.") from None


def _number(query: Any, name: str, kind: type) -> Any:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    try:
        return kind(raw)
    except ValueError:
        raise InvalidInput(f"{name}: must be a{'n integer' if kind is int else ' number'}.") from None


def features_query(layer: Layer, flt: FeatureFilter) -> QuerySet[Feature]:
    qs = Feature.objects.filter(layer_id=layer.pk)
    if flt.bbox is not None:
        w, s, e, n = flt.bbox
        span = layer.max_span
        # minx/miny bounded on both sides so that the (layer, minx, ...) index range stays small.
        qs = qs.filter(minx__gte=w - span, minx__lte=e, miny__gte=s - span, miny__lte=n, maxx__gte=w, maxy__gte=s)
    if flt.class_values:
        qs = qs.filter(class_value__in=flt.class_values)
    if flt.min_confidence is not None:
        # Features drawn by people have no confidence: a confidence filter keeps them.
        qs = qs.filter(Q(confidence__gte=flt.min_confidence) | Q(confidence__isnull=True))
    if flt.since is not None:
        qs = qs.filter(seq__gt=flt.since)
    if flt.review_statuses:
        qs = qs.filter(review_status__in=flt.review_statuses)
    if flt.rasters:
        qs = qs.filter(raster_id__in=flt.rasters)
    if flt.acquired is not None:
        qs = qs.filter(raster__acquired__date=flt.acquired)
    return qs.order_by("id")


def deleted_since(layer: Layer, since: int) -> list[int]:
    return list(DeletedFeature.objects.filter(layer_id=layer.pk, seq__gt=since)
                .order_by("seq").values_list("feature_id", flat=True))


def class_counts(layer: Layer) -> dict[str, int]:
    from django.db.models import Count

    rows = Feature.objects.filter(layer_id=layer.pk).values("class_value").annotate(n=Count("id")).order_by()
    return {str(r["class_value"]): r["n"] for r in rows}
