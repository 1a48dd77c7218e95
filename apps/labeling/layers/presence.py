"""Who has a layer open: one Redis sorted set per layer, shared by every web process.

Members are the consumers' channel names (with the user), scored by their last heartbeat; a
process that died without saying goodbye drops out after STALE_AFTER seconds.
"""
from __future__ import annotations

import asyncio
import json
import time
import weakref
from typing import Any

from django.conf import settings
from redis.asyncio import Redis

HEARTBEAT_SECONDS = 25.0
STALE_AFTER = 75.0
_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Redis]" = weakref.WeakKeyDictionary()


def _redis() -> Redis:
    # One client per event loop: a client may not be shared across loops (tests make new ones).
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = Redis.from_url(settings.REDIS_URL)
        _clients[loop] = client
    return client


def _key(layer_id: int) -> str:
    return f"rasterlab:presence:layer:{layer_id}"


def _member(channel: str, user: Any) -> str:
    return json.dumps({"c": channel, "id": user.pk, "u": user.get_username()}, separators=(",", ":"))


async def touch(layer_id: int, channel: str, user: Any) -> None:
    key = _key(layer_id)
    pipe = _redis().pipeline(transaction=False)
    pipe.zadd(key, {_member(channel, user): time.time()})
    pipe.expire(key, int(STALE_AFTER * 2))
    await pipe.execute()


async def leave(layer_id: int, channel: str, user: Any) -> None:
    await _redis().zrem(_key(layer_id), _member(channel, user))


async def present(layer_id: int) -> list[dict[str, Any]]:
    """[{id, username, connections}] of the users with the layer open, by username."""
    key = _key(layer_id)
    client = _redis()
    await client.zremrangebyscore(key, "-inf", time.time() - STALE_AFTER)
    users: dict[int, dict[str, Any]] = {}
    for raw in await client.zrange(key, 0, -1):
        item = json.loads(raw)
        entry = users.setdefault(item["id"], {"id": item["id"], "username": item["u"], "connections": 0})
        entry["connections"] += 1
    return sorted(users.values(), key=lambda u: u["username"])
