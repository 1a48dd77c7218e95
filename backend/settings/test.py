"""Settings for the test suite: the base settings with fast hashing and tight job timings.

DATABASE_URL / REDIS_URL come from the environment as in production (CI sets PostgreSQL and a
dedicated Redis DB); when they are unset the suite uses SQLite and the embedded Redis that
tests/conftest.py starts on the socket named by the base settings.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault(
    "RASTERLAB_DATA_DIR", str(Path(tempfile.gettempdir()) / f"rasterlab-test-{os.getuid()}")
)
os.environ.setdefault("SECRET_KEY", "rasterlab-tests-only-" + "x" * 40)
os.environ.setdefault("RASTERLAB_JOB_STALE_AFTER_SECONDS", "6")
os.environ.setdefault("RASTERLAB_JOB_HEARTBEAT_SECONDS", "1")
os.environ.setdefault("RASTERLAB_JOB_PROGRESS_MIN_INTERVAL", "0.05")
# Tests never download weights (CI has no internet): starts come from the cache or the
# registry-installed EfficientNet-Lite0 package, else random.
os.environ.setdefault("RASTERLAB_OFFLINE", "1")

from .base import *  # noqa: E402,F401,F403
from .base import DATABASES, DATA_DIR, INSTALLED_APPS  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
INSTALLED_APPS = [*INSTALLED_APPS, "tests.jobs.jobkinds"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so that worker subprocesses see the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}
