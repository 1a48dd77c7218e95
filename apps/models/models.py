"""Model package items; see package_models.py (imported here so Django finds them)."""
from .package_models import *  # noqa: F401,F403
