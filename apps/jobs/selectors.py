"""Reads of jobs, restricted to what a user may see."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from backend.api.exceptions import NotFound

from .models import Job
from .registry import access_policy


def jobs_visible_to(user: Any) -> QuerySet[Job]:
    ids = list(access_policy().visible_project_ids(user))
    return Job.objects.filter(project_id__in=ids).select_related("created_by")


def job_get_visible(user: Any, job_id: int) -> Job:
    job = jobs_visible_to(user).filter(pk=job_id).first()
    if job is None:
        raise NotFound("Job not found.")
    return job
