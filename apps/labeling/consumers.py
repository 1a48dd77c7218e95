"""Websocket ``/ws/layers/{id}/``: live co-editing of one layer.

Authentication: the session cookie or ``?token=<key>``; close code 4401 without a user, 4404 when
the layer does not exist or the user is not a member of its project (as the REST API's 404), 4403
when membership is lost while connected: at once when it is removed (backend.ws_access), and the
heartbeat re-checks too.

Server -> client messages (JSON objects with ``type``):

- ``hello`` ``{layer, seq, user}``: first message; ``seq`` is the layer's change counter now.
- ``feature.created`` / ``feature.updated`` / ``feature.deleted`` ``{layer, seq, feature, user,
  sent_at}``: one committed change; ``feature`` is the GeoJSON Feature as GET returns it (for a
  delete: as it was), ``user`` ``{id, username}`` who made it, ``sent_at`` server epoch seconds.
- ``layer.changed`` ``{layer, seq, reason: import|remap|detections..., count, user}``: a bulk change;
  reload what you show.
- ``layer.updated`` ``{layer, name}``, ``layer.deleted`` ``{layer}``, ``classes.changed``
  ``{layer, classes}`` (the project's class schema changed).
- ``presence`` ``{layer, users: [{id, username, connections}]}``: who has the layer open; sent to
  everyone on each join and leave.
- ``pong`` ``{seq}`` answers ``{"type": "ping"}``; ``error`` ``{detail}`` answers anything else.

Resync protocol. Every committed change of a layer takes the next ``seq`` (1, 2, 3, ... per layer,
in commit order) and sends exactly one event carrying it. A client remembers the highest seq up to
which it has seen every change (its *contiguous* seq): it starts from ``seq`` of its first
``GET /api/layers/{id}/features/`` answer (every answer has a top-level ``seq``) and advances on
each event whose seq is the next one. Events may arrive out of order across web processes, and are
lost while disconnected; so after a reconnect, or when a gap stays open for a moment, it asks
``GET /api/layers/{id}/features/?since=<contiguous seq>``: the features changed after it (current
state) plus ``deleted: [ids]`` and the new ``seq``. Applying a feature only when its
``properties.version`` is newer than the one held makes replays harmless. ``layer.changed`` means
"reload the view" (its seq still counts).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from backend.ws_access import CLOSE_ACCESS_LOST, AccessWatchMixin

from .layers import presence
from .layers.events import layer_group, user_ref
from .models import Layer
from .permissions import project_role

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = CLOSE_ACCESS_LOST
CLOSE_NOT_FOUND = 4404


@database_sync_to_async
def _layer_state(user: Any, layer_id: int) -> dict[str, Any] | None:
    row = Layer.objects.filter(pk=layer_id).values("project_id", "seq").first()
    if row is None or project_role(user, row["project_id"]) is None:
        return None
    return row


class LayerConsumer(AccessWatchMixin, AsyncJsonWebsocketConsumer):
    layer_id: int
    group: str | None = None
    heartbeat: asyncio.Task[None] | None = None
    joined = False

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.layer_id = int(self.scope["url_route"]["kwargs"]["layer_id"])
        # Join first, then read seq: an event committed in between (or a lost membership) is
        # received, not missed.
        await self.watch_access(user)
        self.group = layer_group(self.layer_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        state = await _layer_state(user, self.layer_id)
        if state is None:
            await self.on_access_lost()
            await self.unwatch_access()
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.project_id = state["project_id"]
        self.watched_project = self.project_id
        await self.accept()
        await self.send_json({"type": "hello", "layer": self.layer_id, "seq": state["seq"], "user": user_ref(user)})
        await self._presence_changed(join=True)
        self.heartbeat = asyncio.ensure_future(self._beat())

    async def disconnect(self, code: int) -> None:
        if self.heartbeat is not None:
            self.heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.heartbeat
        await self.on_access_lost()
        await self.unwatch_access()
        if self.joined:
            await self._presence_changed(join=False)

    async def on_access_lost(self) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            self.group = None

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.access_revoked:
            return
        if isinstance(content, dict) and content.get("type") == "ping":
            state = await _layer_state(self.scope["user"], self.layer_id)
            await self.send_json({"type": "pong", "seq": state["seq"] if state else None})
            return
        await self.send_json({"type": "error", "detail": 'Only {"type": "ping"} is accepted; edit through the '
                                                         "REST API (/api/layers/{id}/features/)."})

    # group messages ----------------------------------------------------------------------------
    async def dispatch(self, message: dict[str, Any]) -> None:
        # Fan-out messages touch no database: skip channels' per-message close_old_connections
        # (a hop to the one sync thread for every event and listener).
        if message.get("type") in ("layer.event", "presence.event"):
            await getattr(self, message["type"].replace(".", "_"))(message)
            return
        await super().dispatch(message)

    async def layer_event(self, message: dict[str, Any]) -> None:
        if not self.access_revoked:
            await self.send(text_data=message["text"])

    async def presence_event(self, message: dict[str, Any]) -> None:
        if not self.access_revoked:
            await self.send_json({"type": "presence", "layer": self.layer_id, "users": message["users"]})

    # presence ----------------------------------------------------------------------------------
    async def _presence_changed(self, *, join: bool) -> None:
        user = self.scope["user"]
        try:
            if join:
                await presence.touch(self.layer_id, self.channel_name, user)
                self.joined = True
            else:
                await presence.leave(self.layer_id, self.channel_name, user)
                self.joined = False
            users = await presence.present(self.layer_id)
            await self.channel_layer.group_send(layer_group(self.layer_id), {"type": "presence.event", "users": users})
        except Exception:  # noqa: BLE001 - presence is a courtesy; editing must go on without it
            logger.warning("presence update failed for layer %s", self.layer_id, exc_info=True)

    async def _beat(self) -> None:
        user = self.scope["user"]
        while True:
            await asyncio.sleep(presence.HEARTBEAT_SECONDS)
            if await _layer_state(user, self.layer_id) is None:
                await self.close(code=CLOSE_FORBIDDEN)
                return
            try:
                await presence.touch(self.layer_id, self.channel_name, user)
            except Exception:  # noqa: BLE001
                logger.warning("presence heartbeat failed for layer %s", self.layer_id, exc_info=True)
