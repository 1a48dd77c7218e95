"""Layer change events on the channel layer (group ``layer_<id>``), sent after the commit.

Every committed change of a layer has one seq (see layer_models) and sends exactly one event:
``feature.created|updated|deleted`` ``{type, layer, seq, feature, user}`` for one feature, or
``layer.changed`` ``{type, layer, seq, reason, count, user}`` for bulk changes (import, class remap)
after which clients reload what they show. ``layer.updated`` / ``layer.deleted`` carry the layer.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def layer_group(layer_id: int) -> str:
    return f"layer_{layer_id}"


def user_ref(user: Any) -> dict[str, Any] | None:
    if user is None or not getattr(user, "pk", None):
        return None
    return {"id": user.pk, "username": user.get_username()}


_local = threading.local()


def send_after_commit(layer_id: int, event: dict[str, Any]) -> None:
    """Queue ``event`` for the layer's listeners once the current transaction commits (at once
    outside a transaction). ``sent_at`` (server epoch seconds) lets clients measure the delay."""
    pending = getattr(_local, "pending", None)
    if pending is not None:
        pending.append((layer_id, event))
    else:
        transaction.on_commit(lambda: _send(layer_id, event))


@contextmanager
def sent_after(block: Any) -> Iterator[None]:
    """Run ``block`` (an outermost transaction context, possibly holding a lock) and send the events
    queued inside it only after it has exited without error, i.e. committed and let go of its lock."""
    _local.pending = []
    try:
        with block:
            yield
        events = _local.pending
    finally:
        _local.pending = None
    for layer_id, event in events:
        _send(layer_id, event)


def _send(layer_id: int, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        # Encoded once here, not once per listener.
        text = json.dumps({**event, "sent_at": time.time()}, separators=(",", ":"), default=str)
        async_to_sync(layer.group_send)(layer_group(layer_id), {"type": "layer.event", "text": text})
    except Exception:  # noqa: BLE001 - a dead channel layer must not fail the write; clients resync
        logger.warning("could not broadcast %s on layer %s", event.get("type"), layer_id, exc_info=True)
