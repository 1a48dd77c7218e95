"""Wiring of layers into the rest of the labeling app (called from LabelingConfig.ready)."""
from __future__ import annotations

_registered = False


def register() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    from .. import services as project_services
    from . import jobkinds
    from .schema import check_classes_change
    from .services import create_default_layer

    project_services.PROJECT_CREATED_HOOKS.append(create_default_layer)
    project_services.CLASSES_CHANGE_CHECKS.append(check_classes_change)
    jobkinds.register()
