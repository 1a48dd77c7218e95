"""Writes for projects, memberships and rasters. Views call these; they call the engine."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from apps.jobs.services import job_start
from backend.api.exceptions import Conflict, InvalidInput, NotFound
from backend.engine.errors import EngineInputError
from backend.engine.raster.dates import acquisition_date
from backend.engine.raster.inspect import RasterLimits, inspect_raster

from .classes import validate_classes
from .members import find_user, invite_user
from .models import Membership, Project, Raster
from .permissions import require_role
from .storage import raster_dir, raster_source_path

logger = logging.getLogger(__name__)


# projects ------------------------------------------------------------------------------------
@transaction.atomic
def project_create(*, user: Any, name: str, description: str = "", classes: list | None = None) -> Project:
    project = Project.objects.create(
        name=name, description=description, classes=validate_classes(classes or []), created_by=user
    )
    Membership.objects.create(project=project, user=user, role=Membership.Role.OWNER)
    for hook in PROJECT_CREATED_HOOKS:
        hook(project, user)
    return project


# Other parts of the labeling app (e.g. the default "Labels" layer) hook into project creation.
PROJECT_CREATED_HOOKS: list = []
# Called before a class-schema change with (project, new_classes); may raise to refuse it.
CLASSES_CHANGE_CHECKS: list = []


@transaction.atomic
def project_update(*, user: Any, project: Project, **fields: Any) -> Project:
    require_role(user, project.pk, write=True)
    if "classes" in fields:
        new_classes = validate_classes(fields["classes"])
        for check in CLASSES_CHANGE_CHECKS:
            check(project, new_classes)
        fields["classes"] = new_classes
    for name, value in fields.items():
        setattr(project, name, value)
    project.save()
    return project


def project_delete(*, user: Any, project: Project) -> None:
    require_role(user, project.pk, admin=True)
    raster_ids = list(project.rasters.values_list("pk", flat=True))
    project.delete()
    for raster_id in raster_ids:
        shutil.rmtree(raster_dir(raster_id), ignore_errors=True)


def member_set(*, user: Any, project: Project, username: str, role: str, invite: bool = False) -> Membership:
    """Add a member (by username or e-mail) or change their role. With ``invite``, an e-mail without
    an account gets one; its one-time password is on ``membership.invited_password``."""
    require_role(user, project.pk, admin=True)
    if role not in Membership.Role.values:
        raise InvalidInput(f"role: must be one of {', '.join(Membership.Role.values)}.")
    with transaction.atomic():
        member = find_user(username)
        password = None
        if member is None and invite and "@" in username:
            member, password = invite_user(username.strip())
        if member is None:
            hint = " Tick “invite” to make them an account." if "@" in username else \
                " Give an existing username, or an e-mail address to invite."
            raise InvalidInput(f"username: no user named {username!r}.{hint}")
        membership, _ = Membership.objects.update_or_create(project=project, user=member, defaults={"role": role})
        _ensure_an_owner(project)
    membership.invited_password = password  # type: ignore[attr-defined]
    return membership


def member_remove(*, user: Any, project: Project, username: str) -> None:
    require_role(user, project.pk, admin=True)
    with transaction.atomic():
        deleted, _ = Membership.objects.filter(project=project, user__username=username).delete()
        if not deleted:
            raise NotFound(f"{username!r} is not a member of this project.")
        _ensure_an_owner(project)


def _ensure_an_owner(project: Project) -> None:
    if not Membership.objects.filter(project=project, role=Membership.Role.OWNER).exists():
        raise Conflict("A project must keep at least one owner.")


# rasters ---------------------------------------------------------------------------------------
def raster_create_from_upload(*, user: Any, project: Project, uploaded_path: Path, name: str) -> Raster:
    """Validate an uploaded file (already streamed to disk), keep it, and start its ingest job.

    A bad file raises InvalidInput and leaves nothing behind: the temp file is the caller's and
    no row or folder is created before validation passed.
    """
    require_role(user, project.pk, write=True)
    try:
        info = inspect_raster(uploaded_path, RasterLimits(max_pixels=settings.MAX_RASTER_PIXELS,
                                                          max_expansion=settings.MAX_RASTER_EXPANSION))
    except EngineInputError as exc:
        raise InvalidInput(str(exc)) from exc
    acquired = acquisition_date(uploaded_path)
    with transaction.atomic():
        raster = Raster.objects.create(
            acquired=acquired,
            project=project, name=name, created_by=user, status=Raster.Status.PROCESSING,
            crs=info.crs, width=info.width, height=info.height, count=info.count, dtype=info.dtype,
            nodata=info.nodata, resolution_x=info.resolution[0], resolution_y=info.resolution[1],
            west=info.bounds_4326[0], south=info.bounds_4326[1], east=info.bounds_4326[2], north=info.bounds_4326[3],
            file_size=uploaded_path.stat().st_size,
        )
        target = raster_source_path(raster.pk)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.move(str(uploaded_path), target)
            job = job_start(user=user, kind="ingest_raster", project_id=project.pk, params={"raster": raster.pk})
        except Exception:
            shutil.rmtree(raster_dir(raster.pk), ignore_errors=True)
            raise
        raster.ingest_job_id = job.pk
        raster.save(update_fields=["ingest_job_id"])
    return raster


def raster_update(*, user: Any, raster: Raster, **fields: Any) -> Raster:
    """Rename a raster or set its acquisition date (None clears it)."""
    require_role(user, raster.project_id, write=True)
    for name in ("name", "acquired"):
        if name in fields:
            setattr(raster, name, fields[name])
    raster.save(update_fields=[n for n in ("name", "acquired") if n in fields] + ["updated_at"])
    return raster


def raster_delete(*, user: Any, raster: Raster) -> None:
    require_role(user, raster.project_id, write=True)
    raster_id = raster.pk
    raster.delete()
    shutil.rmtree(raster_dir(raster_id), ignore_errors=True)
