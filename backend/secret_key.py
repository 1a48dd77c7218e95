"""SECRET_KEY for an instance with nothing configured: a random key kept in the data directory.

``make run`` (backend.launcher) creates ``$RASTERLAB_DATA_DIR/secret_key`` (mode 0600) the first time
when no SECRET_KEY is set; the settings read it, so every process sharing the data directory (web,
workers, manage.py commands) signs with the same key. No Django imports: the settings use this.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

FILE_NAME = "secret_key"


def data_dir_from_env(base_dir: Path) -> Path:
    return Path(os.environ.get("RASTERLAB_DATA_DIR") or base_dir / "var").resolve()


def read_secret_key(data_dir: Path) -> str | None:
    try:
        key = (data_dir / FILE_NAME).read_text().strip()
    except OSError:
        return None
    return key or None


def ensure_secret_key(data_dir: Path) -> str:
    """The data directory's key, created (random, owner-only) when there is none yet."""
    key = read_secret_key(data_dir)
    if key:
        return key
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / FILE_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return read_secret_key(data_dir) or ensure_secret_key(data_dir)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(64))
    return read_secret_key(data_dir) or ""
