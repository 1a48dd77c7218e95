"""Websocket authentication: the session cookie (browser) or ``?token=<key>`` (API clients)."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser


@database_sync_to_async
def _user_for_token(key: str) -> Any:
    from backend.api.token_auth import user_for_token_key  # the API's rules: expiry, inactive users

    return user_for_token_key(key) or AnonymousUser()


class _TokenMiddleware:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        token = parse_qs(scope.get("query_string", b"").decode()).get("token")
        if token:
            scope = dict(scope, user=await _user_for_token(token[0]))
        return await self.inner(scope, receive, send)


def TokenOrSessionAuthMiddleware(inner: Any) -> Any:  # noqa: N802 - mirrors channels' naming
    return AuthMiddlewareStack(_TokenMiddleware(inner))
