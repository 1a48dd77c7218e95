"""Job kinds of the models app: training and inference register here (one line each)."""
from __future__ import annotations


def register() -> None:
    """Register the app's job kinds with apps.jobs."""
    from .inference.jobkinds import register as register_inference; register_inference()  # noqa: E702
    from .training.jobkind import register as register_training; register_training()  # noqa: E702
    from .accuracy.jobkind import register as register_accuracy; register_accuracy()  # noqa: E702
    from .export.jobkind import register as register_export; register_export()  # noqa: E702
