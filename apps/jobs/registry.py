"""Job kinds and project access, registered by the domain apps in ``AppConfig.ready()``.

jobs never imports labeling or models: each app tells jobs which kinds it runs (a params declaration
and a handler) and how to decide who may see a project.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol

from backend.api.permissions import Role
from backend.engine.types import Progress, ShouldStop

if TYPE_CHECKING:
    from .models import Job
    from .params import JobParams


@dataclass
class JobContext:
    """What a handler gets: its params, progress/cancel callables, a log and a scratch folder."""

    job_id: int
    project_id: int
    user_id: int | None
    params: dict[str, Any]
    progress: Progress
    should_stop: ShouldStop
    log: Callable[[str], None]
    set_metrics: Callable[[dict[str, Any]], None]
    work_dir: Path
    attempt: int = 1


@dataclass(frozen=True)
class ValidationContext:
    user: Any
    project_id: int


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Callable[[JobContext], dict[str, Any]]
    # The params, declared once (apps.jobs.params.JobParams): ``params.clean(raw, ValidationContext)``
    # returns them cleaned, with defaults, or raises InvalidInput naming the bad field; it is also the
    # kind's schema in /api/schema/.
    params: type["JobParams"]
    # Called when a job ends failed/cancelled, also after a worker died: removes partial outputs.
    on_abort: Callable[["Job"], None] | None = None
    retryable: bool = False
    # "default" for work that takes seconds to minutes; "long" for training and inference, so that a
    # long job never holds up short ones (each queue has its own worker; see README "Workers").
    queue: str = "default"
    timeout_seconds: int = 24 * 3600
    description: str = ""
    # Internal kinds (started by other jobs or by an upload endpoint) stay out of the API schema.
    internal: bool = False


class AccessPolicy(Protocol):
    def role(self, user: Any, project_id: int) -> Role | None: ...

    def visible_project_ids(self, user: Any) -> Iterable[int]: ...


@dataclass
class _Registry:
    kinds: dict[str, JobKind] = field(default_factory=dict)
    access: AccessPolicy | None = None


_registry = _Registry()


def register_kind(kind: JobKind) -> None:
    _registry.kinds[kind.name] = kind


def get_kind(name: str) -> JobKind | None:
    return _registry.kinds.get(name)


def kind_names() -> list[str]:
    return sorted(_registry.kinds)


def kinds() -> list[JobKind]:
    return [_registry.kinds[name] for name in kind_names()]


def set_access_policy(policy: AccessPolicy) -> None:
    _registry.access = policy


def access_policy() -> AccessPolicy:
    if _registry.access is None:
        raise RuntimeError("No project access policy registered (is apps.labeling installed?)")
    return _registry.access
