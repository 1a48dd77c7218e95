"""Websockets: ``/ws/jobs/{id}/`` (one job) and ``/ws/projects/{id}/jobs/`` (a project's jobs).

Both check the same project access as the REST API, send the current state on connect and then
every change broadcast by events.broadcast_job. A user who loses access to the project is closed
at once with 4403 (backend.ws_access: membership removal announces it).
"""
from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from backend.ws_access import AccessWatchMixin

from .events import job_group, job_state, project_jobs_group
from .models import Job
from .registry import access_policy

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
_MAX_ID = 2**63 - 1  # ids past a bigint cannot exist (and would overflow the query)


@database_sync_to_async
def _job_if_visible(user: Any, job_id: int) -> dict[str, Any] | None:
    job = Job.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None or access_policy().role(user, job.project_id) is None:
        return None
    return job_state(job)


@database_sync_to_async
def _project_visible(user: Any, project_id: int) -> bool:
    return access_policy().role(user, project_id) is not None


class _ProjectScoped(AccessWatchMixin, AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def disconnect(self, code: int) -> None:
        await self.on_access_lost()
        await self.unwatch_access()

    async def on_access_lost(self) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            self.group = None


class JobConsumer(_ProjectScoped):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        job_id = int(self.scope["url_route"]["kwargs"]["job_id"])
        if job_id > _MAX_ID:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        # Join first, then read: an event (or a lost membership) between the read and the join
        # cannot be missed.
        await self.watch_access(user)
        self.group = job_group(job_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        state = await _job_if_visible(user, job_id)
        if state is None:
            await self.disconnect(CLOSE_NOT_FOUND)
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.watched_project = state["project"]
        await self.accept()
        await self.send_json(_progress_event(state))

    async def job_event(self, event: dict[str, Any]) -> None:
        if not self.access_revoked:
            await self.send_json(_progress_event(event["job"]))


class ProjectJobsConsumer(_ProjectScoped):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        project_id = int(self.scope["url_route"]["kwargs"]["project_id"])
        if project_id > _MAX_ID:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.watch_access(user)
        self.watched_project = project_id
        if not await _project_visible(user, project_id):
            await self.unwatch_access()
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.group = project_jobs_group(project_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def job_event(self, event: dict[str, Any]) -> None:
        if not self.access_revoked:
            await self.send_json({"type": "job.progress", "job": event["job"]})


def _progress_event(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "job.progress",
        **{k: state[k] for k in ("id", "kind", "status", "progress", "message", "result", "error", "metrics")},
    }
