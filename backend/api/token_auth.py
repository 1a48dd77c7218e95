"""Token authentication with an optional lifetime (RASTERLAB_TOKEN_TTL_HOURS), shared by the API,
the websockets and the tile views. No model import at module level: settings name this class."""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


def token_expiry(token: Any) -> dt.datetime | None:
    hours = settings.TOKEN_TTL_HOURS
    return token.created + dt.timedelta(hours=hours) if hours > 0 else None


def token_expired(token: Any) -> bool:
    expiry = token_expiry(token)
    return expiry is not None and expiry <= timezone.now()


def user_for_token_key(key: str) -> Any | None:
    """The active user a token key belongs to, or None (unknown, expired, inactive user)."""
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or token_expired(token) or not token.user.is_active:
        return None
    return token.user


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            raise AuthenticationFailed("Token expired; get a new one from POST /api/auth/token/.")
        return user, token
