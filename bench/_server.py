"""Start a throwaway Rasterlab (temp data dir, SQLite, embedded Redis, daphne) for benchmarks."""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BenchServer:
    """A real server on a temp data dir: ``with BenchServer() as srv: srv.url, srv.token``."""

    def __init__(self, worker: bool = False) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="rasterlab-bench-")
        self.data_dir = Path(self.tmp.name)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "RASTERLAB_DATA_DIR": str(self.data_dir), "DJANGO_SETTINGS_MODULE": "backend.settings.base",
                    "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50)}
        self.env.pop("DATABASE_URL", None)
        self.env.pop("REDIS_URL", None)
        self.processes: list[subprocess.Popen] = []
        self.worker = worker

    def manage(self, *args: str) -> str:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True,
                              capture_output=True, text=True).stdout

    def __enter__(self) -> "BenchServer":
        from backend.embedded_redis import start_embedded_redis

        redis = start_embedded_redis(self.data_dir / "run" / "redis.sock", persist=False)
        if redis:
            self.processes.append(redis)
        self.manage("migrate", "--noinput")
        self.manage("shell", "-c", "from django.contrib.auth.models import User; "
                    "from rest_framework.authtoken.models import Token; "
                    "u=User.objects.create_user('bench', password='bench-pw'); Token.objects.create(user=u, key='b'*40)")
        self.token = "b" * 40
        log = open(self.data_dir / "daphne.log", "wb")
        self.processes.append(subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "backend.asgi:application"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT))
        if self.worker:
            self.processes.append(subprocess.Popen([sys.executable, "manage.py", "rqworker", "default"], cwd=ROOT,
                                                   env=self.env, stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/accounts/login/").status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start; see " + str(self.data_dir / "daphne.log"))

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Token {self.token}"}, timeout=60)

    def __exit__(self, *exc: object) -> None:
        for process in reversed(self.processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.tmp.cleanup()
