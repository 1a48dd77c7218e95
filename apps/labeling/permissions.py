"""Who may see and change a project (and everything in it)."""
from __future__ import annotations

from typing import Any, Iterable

from backend.api.exceptions import NotFound, PermissionDenied
from backend.api.permissions import Role

from .models import Membership, Project


def project_role(user: Any, project_id: int) -> Role | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    role = Membership.objects.filter(project_id=project_id, user_id=user.pk).values_list("role", flat=True).first()
    return Role(role) if role else None


def require_role(user: Any, project_id: int, *, write: bool = False, admin: bool = False,
                 review: bool = False) -> Role:
    """The user's role on the project; 404 for non-members (they must not learn it exists),
    403 for a member without the needed role."""
    role = project_role(user, project_id)
    if role is None:
        raise NotFound("Project not found.")
    if review and not role.can_review:
        raise PermissionDenied("Viewers cannot review labels; ask an owner for the reviewer or editor role.")
    if admin and not role.can_admin:
        raise PermissionDenied("Only a project owner can do this.")
    if write and not role.can_write:
        raise PermissionDenied("Viewers cannot change this project; ask an owner for the editor role.")
    return role


def visible_project_ids(user: Any) -> Iterable[int]:
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return Membership.objects.filter(user_id=user.pk).values_list("project_id", flat=True)


def visible_projects(user: Any):
    return Project.objects.filter(pk__in=visible_project_ids(user))


class MembershipAccessPolicy:
    """Registered with apps.jobs so that jobs can check project access without importing us."""

    def role(self, user: Any, project_id: int) -> Role | None:
        return project_role(user, project_id)

    def visible_project_ids(self, user: Any) -> Iterable[int]:
        return visible_project_ids(user)
