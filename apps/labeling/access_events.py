"""A deleted membership closes that user's websockets on the project at once (backend.ws_access).

A post_delete receiver, not a call in member_remove: memberships also go with their project or
user (cascades) and through the admin, and every such path must close the sockets.
"""
from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete

from backend.ws_access import announce_access_lost

from .models import Membership


def _membership_deleted(sender: Any, instance: Membership, **kwargs: Any) -> None:
    transaction.on_commit(partial(announce_access_lost, instance.user_id, instance.project_id))


def register() -> None:
    post_delete.connect(_membership_deleted, sender=Membership, dispatch_uid="labeling-membership-access-lost")
