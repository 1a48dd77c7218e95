"""Errors of the dlpk package."""
from __future__ import annotations

from backend.engine.errors import EngineInputError


class PackageError(EngineInputError):
    """The uploaded .dlpk archive is unusable or unsafe; the message says what to fix."""
