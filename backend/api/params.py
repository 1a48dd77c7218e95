"""Parsing of ids, numbers and flags from paths and query strings: a malformed or out-of-range
value is a 400 naming the parameter, never a 500 from ``int()`` or from the database.

Path ids are checked in one place for every view (``IdMiddleware``): URL kwargs named ``pk`` or
``*_id`` are matched loosely (the ``id`` converter) so that ``/api/layers/abc/`` reaches this check
and answers "id: must be ..." instead of a bare 404 or a ValueError.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Mapping

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, JsonResponse

from .exceptions import InvalidInput

MAX_ID = 2**63 - 1  # a bigint: larger ids cannot exist and would overflow the query
_ID = re.compile(r"^[0-9]{1,19}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_id(value: Any, field: str) -> int:
    """A database id (1 .. 2**63-1) from a path or query string; InvalidInput naming ``field``."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if text is None or not _ID.match(text) or not 1 <= int(text) <= MAX_ID:
        shown = str(value)[:40]
        raise InvalidInput(f"{field}: must be an id (a whole number from 1 to {MAX_ID}), not {shown!r}.")
    return int(text)


def query_id(query: Mapping[str, Any], field: str) -> int | None:
    """``?field=<id>``, or None when absent or empty."""
    value = query.get(field)
    return None if value in (None, "") else parse_id(value, field)


def query_int(query: Mapping[str, Any], field: str, *, minimum: int, maximum: int) -> int | None:
    value = query.get(field)
    if value in (None, ""):
        return None
    text = str(value).strip()
    if not re.fullmatch(r"-?[0-9]{1,19}", text) or not minimum <= int(text) <= maximum:
        raise InvalidInput(f"{field}: must be a whole number from {minimum} to {maximum}, not {str(value)[:40]!r}.")
    return int(text)


def parse_bool(value: Any, field: str) -> bool:
    """A JSON boolean, or the strings/numbers forms clients send ("false" is False, not bool("false"))."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InvalidInput(f"{field}: must be true or false, not {str(value)[:40]!r}.")


class IdConverter:
    """``<id:name>``: any one path segment; ``IdMiddleware`` checks it and makes it an int."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: Any) -> str:
        return str(value)


class IdMiddleware:
    """Answers 400 for a URL id that is not one (``pk`` and ``*_id`` kwargs), before any view.

    Sync and async: under ASGI a sync ``process_view`` would cost every request (tiles included)
    a hop to the one sync thread."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
            self.process_view = self._process_view_async  # type: ignore[method-assign]

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        return self.get_response(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        return await self.get_response(request)  # type: ignore[no-any-return,misc]

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: dict[str, Any]) -> HttpResponse | None:
        for name, value in kwargs.items():
            if name == "pk" or name.endswith("_id"):
                try:
                    kwargs[name] = parse_id(value, "id" if name == "pk" else name)
                except InvalidInput as exc:
                    return JsonResponse({"detail": exc.detail}, status=400)
        return None

    async def _process_view_async(self, request: HttpRequest, view: Any, args: Any,
                                  kwargs: dict[str, Any]) -> HttpResponse | None:
        return IdMiddleware.process_view(self, request, view, args, kwargs)
