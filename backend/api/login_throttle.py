"""Brute-force protection for password logins (``/api/auth/token/`` and ``/accounts/login/``).

Failed attempts are counted in the shared cache (Redis, so every web process sees the same
counts), per username and per client address. Past ``LOGIN_MAX_FAILURES`` failures for a username
(or ten times that from one address) within ``LOGIN_LOCKOUT_SECONDS``, every attempt is refused
with 429 and a Retry-After, the right password included, until the window has passed. A success
clears the username's count.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

_PREFIX = "rasterlab:login-failures"


@dataclass(frozen=True)
class Lockout:
    retry_after: int

    @property
    def detail(self) -> str:
        minutes = max(1, round(self.retry_after / 60))
        return (f"Too many failed sign-ins for this account or address; try again in about {minutes} "
                f"minute{'s' if minutes != 1 else ''}.")


def _keys(request: Any, username: str) -> tuple[str, str]:
    name = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    address = request.META.get("REMOTE_ADDR") or "unknown"
    return f"{_PREFIX}:user:{name}", f"{_PREFIX}:addr:{address}"


def lockout(request: Any, username: str) -> Lockout | None:
    """A Lockout when this username or address has failed too often recently, else None."""
    user_key, addr_key = _keys(request, username)
    counts = cache.get_many([user_key, addr_key])
    limit = settings.LOGIN_MAX_FAILURES
    if counts.get(user_key, 0) >= limit or counts.get(addr_key, 0) >= limit * 10:
        return Lockout(retry_after=settings.LOGIN_LOCKOUT_SECONDS)  # at most; the window may end sooner
    return None


def record_failure(request: Any, username: str) -> None:
    for key in _keys(request, username):
        # add() starts the window once; incr() never extends it (a fixed window per lockout).
        if not cache.add(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)


def record_success(request: Any, username: str) -> None:
    cache.delete(_keys(request, username)[0])
