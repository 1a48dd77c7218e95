"""Who may see and change a model package.

Members of the package's project see it; its editors and owners change it. A shared package is
also visible to every logged-in user, read-only: only the owning project's editors and owners
may change or delete it (or stop sharing it).
"""
from __future__ import annotations

from typing import Any

from django.db.models import Q

from apps.labeling.models import Membership
from apps.labeling.permissions import project_role, visible_project_ids
from backend.api.exceptions import PermissionDenied

from ..package_models import ModelPackage


def visible_filter(user: Any) -> Q:
    """Rows of ModelPackage that `user` may see (nothing for anonymous users)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    return Q(project_id__in=visible_project_ids(user)) | Q(shared=True)


def writable_project_ids(user: Any) -> set[int]:
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    roles = [Membership.Role.OWNER, Membership.Role.EDITOR]
    return set(Membership.objects.filter(user_id=user.pk, role__in=roles).values_list("project_id", flat=True))


def require_write(user: Any, package: ModelPackage) -> None:
    """403 unless `user` edits the package's project (the caller already checked visibility)."""
    role = project_role(user, package.project_id)
    if role is None:
        raise PermissionDenied(
            "This model is shared read-only; only editors and owners of its project can change it."
        )
    if not role.can_write:
        raise PermissionDenied("Viewers cannot change models; ask a project owner for the editor role.")
