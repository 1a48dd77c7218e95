"""The per-layer change counter: every write to a layer's features starts here.

``claim_seq`` bumps ``Layer.seq`` with an UPDATE, which locks the layer row until the transaction
ends (PostgreSQL row lock; SQLite locks the whole file). So the writes of one layer commit one at a
time in seq order, and what a writer checks after claiming (the class schema, the version) cannot
change under it. Always claim before touching features: one lock order, no deadlocks.
"""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from backend.api.exceptions import NotFound

from ..models import Layer, Project
from .events import sent_after


# SQLite lets one writer in at a time and makes the others poll with growing sleeps (1, 2, 5, 10,
# ... 100 ms): under ASGI, where each request has its own thread, concurrent writers would wait far
# longer than the writes take. Writers of this process queue on a lock instead (woken at once).
_sqlite_writers = threading.Lock()


@contextmanager
def _locked_atomic() -> Iterator[None]:
    with _sqlite_writers, transaction.atomic():
        yield


def write_transaction() -> Any:
    """transaction.atomic() for a layer write; on SQLite, one writer of this process at a time.
    Outermost, it sends the events queued inside after the commit, once the lock is released
    (not from on_commit, which runs while the lock is still held)."""
    if connection.in_atomic_block:
        return transaction.atomic()
    return sent_after(_locked_atomic() if connection.vendor == "sqlite" else transaction.atomic())


@dataclass(frozen=True)
class Claim:
    layer_id: int
    seq: int
    kind: str
    layer_classes: list[dict[str, Any]]
    project_classes: list[dict[str, Any]]


def claim_seq(layer_id: int, *, span: float = 0.0, count_delta: int = 0) -> Claim:
    """Take the layer's next seq (call inside write_transaction); also keeps feature_count and
    max_span (the largest feature width/height, which bounds bbox queries) up to date.

    One ``UPDATE ... RETURNING`` (SQLite >= 3.35 and PostgreSQL): writes are the hot path.
    """
    layer_table, project_table = Layer._meta.db_table, Project._meta.db_table
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {layer_table} SET seq = seq + 1, feature_count = feature_count + %s, "
            "max_span = CASE WHEN max_span < %s THEN %s ELSE max_span END, updated_at = %s WHERE id = %s "
            f"RETURNING seq, kind, classes, (SELECT p.classes FROM {project_table} p WHERE p.id = project_id)",
            [count_delta, float(span), float(span), now, layer_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound("Layer not found (it was deleted).")
    seq, kind, layer_classes, project_classes = row
    return Claim(layer_id, int(seq), kind, _json(layer_classes), _json(project_classes))


def _json(value: Any) -> list[dict[str, Any]]:
    # SQLite hands JSON columns back as text, PostgreSQL's jsonb as Python objects.
    if isinstance(value, (str, bytes)):
        value = json.loads(value)
    return value or []


def adjust_layer(layer_id: int, *, span: float = 0.0, count_delta: int = 0) -> None:
    """Correct counters after a claim (bulk writes learn their size as they go)."""
    if span or count_delta:
        Layer.objects.filter(pk=layer_id).update(
            feature_count=F("feature_count") + count_delta,
            max_span=Greatest(F("max_span"), Value(float(span))),
        )
