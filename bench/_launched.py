"""`make run`'s launcher (backend.launcher) on a throwaway data directory, for benchmarks that must see
what users run: the embedded SQLite and private Redis, the forking workers and their reaper."""
from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
ADMIN = ("admin", "bench-admin-pw-5521")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LaunchedApp:
    """``with LaunchedApp(data_dir) as app: app.api.get(...)``; Ctrl-C (SIGINT) stops it at exit."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        self.env.update({"RASTERLAB_DATA_DIR": str(data_dir), "RASTERLAB_PORT": str(self.port),
                         "DJANGO_SETTINGS_MODULE": "backend.settings.base", "RASTERLAB_ADMIN_USER": ADMIN[0],
                         "RASTERLAB_ADMIN_PASSWORD": ADMIN[1], "PYTHONUNBUFFERED": "1", **env})
        self.log_path = data_dir.parent / f"{data_dir.name}-launcher.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "LaunchedApp":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen([sys.executable, "-m", "backend.launcher"], cwd=ROOT, env=self.env,
                                        stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"launcher exited; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/accounts/login/", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        token = httpx.post(f"{self.url}/api/auth/token/", json=dict(zip(("username", "password"), ADMIN))).json()
        self.api = httpx.Client(base_url=self.url, headers={"Authorization": f"Token {token['token']}"}, timeout=120)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

    # helpers ----------------------------------------------------------------------------------
    def job(self, kind: str, project: int, params: dict[str, Any]) -> int:
        response = self.api.post("/api/jobs/", json={"kind": kind, "project": project, "params": params})
        if response.status_code != 201:
            raise RuntimeError(f"{kind}: {response.status_code} {response.text[:500]}")
        return int(response.json()["id"])

    def wait(self, job_id: int, timeout: float = 3600, done: tuple[str, ...] = ("succeeded", "failed", "cancelled"),
             poll: float = 1.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job: dict[str, Any] = self.api.get(f"/api/jobs/{job_id}/").json()
            if job["status"] in done:
                return job
            time.sleep(poll)
        raise TimeoutError(f"job {job_id} still {job['status']} after {timeout} s")

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.data_dir / "rasterlab.sqlite3", timeout=30) as db:
            return db.execute(query, args).fetchall()

    def work_horses(self) -> list[int]:
        """Pids of the running RQ work horses (children of this app's rqworker processes)."""
        horses = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                parent_cmd = Path(f"/proc/{ppid}/cmdline").read_bytes().split(b"\0")
                parent_env = Path(f"/proc/{ppid}/environ").read_bytes()
            except (OSError, ValueError, IndexError):
                continue
            if b"rqworker" in parent_cmd and b"rqworker" in cmd and str(self.data_dir).encode() in parent_env:
                horses.append(int(entry.name))
        return horses
