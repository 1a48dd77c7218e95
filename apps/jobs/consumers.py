"""Websockets: ``/ws/jobs/{id}/`` (one job) and ``/ws/projects/{id}/jobs/`` (a project's jobs).

Both check the same project access as the REST API, send the current state on connect and then
every change broadcast by events.broadcast_job.
"""
from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .events import job_group, job_state, project_jobs_group
from .models import Job
from .registry import access_policy

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404


@database_sync_to_async
def _job_if_visible(user: Any, job_id: int) -> dict[str, Any] | None:
    job = Job.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None or access_policy().role(user, job.project_id) is None:
        return None
    return job_state(job)


@database_sync_to_async
def _project_visible(user: Any, project_id: int) -> bool:
    return access_policy().role(user, project_id) is not None


class JobConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        job_id = int(self.scope["url_route"]["kwargs"]["job_id"])
        # Join first, then read: an event between the read and the join cannot be lost.
        self.group = job_group(job_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        state = await _job_if_visible(user, job_id)
        if state is None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.accept()
        await self.send_json(_progress_event(state))

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def job_event(self, event: dict[str, Any]) -> None:
        await self.send_json(_progress_event(event["job"]))


class ProjectJobsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        project_id = int(self.scope["url_route"]["kwargs"]["project_id"])
        if not await _project_visible(user, project_id):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.group = project_jobs_group(project_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def job_event(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "job.progress", "job": event["job"]})


def _progress_event(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "job.progress",
        **{k: state[k] for k in ("id", "kind", "status", "progress", "message", "result", "error", "metrics")},
    }
