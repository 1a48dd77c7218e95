"""Errors shared by the engine. The apps map them to HTTP responses in one place."""


class EngineError(Exception):
    """Base class for engine errors."""


class EngineInputError(EngineError, ValueError):
    """The input (file, parameters, geometry) is unusable; the message says what to fix."""


class Cancelled(EngineError):
    """Raised by long engine functions when ``should_stop()`` returned True."""
