"""Closing a user's websockets the moment they lose access to a project.

Every project-scoped consumer joins its user's group ``access_user_<id>`` *before* it checks
membership, so a removal between the check and the join cannot be missed. Whatever removes access
(the members API, the admin, deleting the project or the user) sends ``access.lost`` to that group
once committed; consumers showing that project stop sending and close with 4403 at once, instead
of at their next heartbeat (or never, for job sockets).
"""
from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

CLOSE_ACCESS_LOST = 4403


def access_group(user_id: int) -> str:
    return f"access_user_{user_id}"


def announce_access_lost(user_id: int, project_id: int) -> None:
    """Tell every open websocket of ``user_id`` that it may no longer see ``project_id``."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(access_group(user_id), {"type": "access.lost", "project": project_id})
    except Exception:  # noqa: BLE001 - the REST API refuses the user anyway; sockets also re-check
        logger.warning("could not announce lost access of user %s to project %s", user_id, project_id,
                       exc_info=True)


class AccessWatchMixin:
    """For channels consumers of one project: ``await self.watch_access(user)`` first thing in
    ``connect``, set ``self.watched_project`` once known, ``await self.unwatch_access()`` in
    ``disconnect``; event handlers skip sending when ``self.access_revoked``."""

    watched_project: int | None = None
    access_revoked = False
    _access_group: str | None = None
    channel_layer: Any
    channel_name: str

    async def watch_access(self, user: Any) -> None:
        self._access_group = access_group(user.pk)
        await self.channel_layer.group_add(self._access_group, self.channel_name)

    async def unwatch_access(self) -> None:
        if self._access_group is not None:
            await self.channel_layer.group_discard(self._access_group, self.channel_name)
            self._access_group = None

    async def access_lost(self, event: dict[str, Any]) -> None:
        if self.access_revoked or event.get("project") != self.watched_project:
            return
        self.access_revoked = True
        await self.on_access_lost()
        await self.close(code=CLOSE_ACCESS_LOST)  # type: ignore[attr-defined]

    async def on_access_lost(self) -> None:
        """Leave the consumer's event groups (override to do more)."""

