"""What the client raises: every error carries the server's message."""
from __future__ import annotations

from typing import Any, Optional


class RasterlabError(Exception):
    """A request the server refused (4xx) or could not serve (5xx); ``detail`` is its message."""

    def __init__(self, detail: str, status: Optional[int] = None, body: Any = None) -> None:
        super().__init__(f"{detail} (HTTP {status})" if status else detail)
        self.detail = detail
        self.status = status
        self.body = body


class JobFailed(RasterlabError):
    """A job ended ``failed``; ``detail`` is the job's error, ``job`` its last state."""

    def __init__(self, job: Any) -> None:
        super().__init__(f"{job.kind} job {job.id} failed: {job.error or job.message}")
        self.job = job


class JobCancelled(RasterlabError):
    """A job ended ``cancelled`` (by someone else, or a server going down)."""

    def __init__(self, job: Any) -> None:
        super().__init__(f"{job.kind} job {job.id} was cancelled: {job.message}")
        self.job = job
