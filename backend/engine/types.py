"""Callable types used by long-running engine functions."""
from __future__ import annotations

from typing import Callable

Progress = Callable[[int, int, str], None]
ShouldStop = Callable[[], bool]


def no_progress(done: int, total: int, message: str) -> None:  # noqa: ARG001
    """Progress sink for callers that do not report progress."""


def never_stop() -> bool:
    """should_stop for callers that never cancel."""
    return False
