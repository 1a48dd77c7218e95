"""Roles shared by the apps. Per-object checks live in each app's permissions module."""
from __future__ import annotations

from enum import Enum


class Role(str, Enum):
    OWNER = "owner"
    EDITOR = "editor"
    # Looks at everything and accepts or rejects labels and detections; changes nothing else.
    REVIEWER = "reviewer"
    VIEWER = "viewer"

    @property
    def can_write(self) -> bool:
        return self in (Role.OWNER, Role.EDITOR)

    @property
    def can_review(self) -> bool:
        return self in (Role.OWNER, Role.EDITOR, Role.REVIEWER)

    @property
    def can_admin(self) -> bool:
        return self is Role.OWNER
