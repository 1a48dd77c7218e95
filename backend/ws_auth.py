"""Websocket authentication: the session cookie (browser) or ``?token=<key>`` (API clients)."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

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


def origin_allowed(scope: dict) -> bool:
    """Browsers send Origin on every websocket handshake: it must be this site (the Host they
    connected to, itself in ALLOWED_HOSTS) or one of CSRF_TRUSTED_ORIGINS, else another site's page
    could open sockets with the user's session (cross-site websocket hijacking). A handshake
    without Origin is no browser's (API clients with ?token=) and passes to authentication."""
    from django.conf import settings
    from django.http.request import split_domain_port, validate_host

    headers = dict(scope.get("headers") or [])
    origin = headers.get(b"origin")
    if origin is None:
        return True
    origin_text = origin.decode("latin1").strip().lower()
    if origin_text in {o.strip().lower() for o in settings.CSRF_TRUSTED_ORIGINS}:
        return True
    parsed = urlsplit(origin_text)
    host = headers.get(b"host", b"").decode("latin1").strip().lower()
    host_name, _ = split_domain_port(host)
    return bool(parsed.netloc) and parsed.netloc == host and validate_host(host_name, settings.ALLOWED_HOSTS)


class SameOriginWebsockets:
    """ASGI middleware: refuse (403) websocket handshakes whose Origin is another site."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        if scope.get("type") == "websocket" and not origin_allowed(scope):
            from channels.security.websocket import WebsocketDenier

            return await WebsocketDenier()(scope, receive, send)
        return await self.inner(scope, receive, send)
