"""What the layer page shows about a layer as a whole: its extent (for "Zoom to labels") and the
review counts per status and per user (issue 16). Aggregates over the stored bbox columns, so no
geometry is parsed."""
from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Min, Q

from ..models import Feature, Layer
from .serialize import usernames

STATUSES = ("unreviewed", "accepted", "rejected")


def layer_extent(layer: Layer) -> list[float] | None:
    """[west, south, east, north] (EPSG:4326) of all features, or None for an empty layer."""
    agg = Feature.objects.filter(layer_id=layer.pk).aggregate(w=Min("minx"), s=Min("miny"), e=Max("maxx"),
                                                              n=Max("maxy"))
    if agg["w"] is None:
        return None
    return [agg["w"], agg["s"], agg["e"], agg["n"]]


def review_counts(layer: Layer) -> dict[str, int]:
    rows = Feature.objects.filter(layer_id=layer.pk).values("review_status").annotate(n=Count("id")).order_by()
    counts = dict.fromkeys(STATUSES, 0)
    for row in rows:
        counts[row["review_status"] or "unreviewed"] += row["n"]
    return counts


def user_counts(layer: Layer) -> list[dict[str, Any]]:
    """Per user: the labels they made by review status, and how many they reviewed."""
    qs = Feature.objects.filter(layer_id=layer.pk)
    made = qs.values("created_by_id").annotate(
        labels=Count("id"), accepted=Count("id", filter=Q(review_status="accepted")),
        rejected=Count("id", filter=Q(review_status="rejected")),
    ).order_by()
    reviewed = dict(qs.exclude(reviewed_by_id=None).values("reviewed_by_id").annotate(n=Count("id"))
                    .order_by().values_list("reviewed_by_id", "n"))
    ids = {r["created_by_id"] for r in made} | set(reviewed)
    names = usernames(ids)
    out: dict[int | None, dict[str, Any]] = {}
    for r in made:
        out[r["created_by_id"]] = {"user": names.get(r["created_by_id"]) if r["created_by_id"] else None,
                                   "labels": r["labels"], "accepted": r["accepted"], "rejected": r["rejected"],
                                   "reviewed": 0}
    for uid, n in reviewed.items():
        out.setdefault(uid, {"user": names.get(uid), "labels": 0, "accepted": 0, "rejected": 0, "reviewed": 0})
        out[uid]["reviewed"] = n
    return sorted(out.values(), key=lambda r: (-r["labels"], str(r["user"])))


def layer_summary(layer: Layer) -> dict[str, Any]:
    return {"extent": layer_extent(layer), "review_counts": review_counts(layer), "user_counts": user_counts(layer)}
