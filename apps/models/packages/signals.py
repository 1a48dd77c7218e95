"""A package's folder goes when its row goes (also when a project is deleted with CASCADE)."""
from __future__ import annotations

import shutil
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .storage import package_dir


@receiver(post_delete, sender="dlmodels.ModelPackage")
def _remove_files(sender: Any, instance: Any, **kwargs: Any) -> None:
    folder = package_dir(instance.pk)
    # After the commit only: a rolled-back delete must keep its files.
    transaction.on_commit(lambda: shutil.rmtree(folder, ignore_errors=True))
