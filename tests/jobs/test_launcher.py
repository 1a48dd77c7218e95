"""`make run`'s launcher as a user runs it: embedded defaults (SQLite, private Redis), real workers.

Ctrl-C with a job running stops everything within seconds, leaves no process behind, exits cleanly,
and the interrupted job is queued again and runs at the next start."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, descendants, kill9_tree, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]
STOP_LIMIT_S = 20


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Launched:
    def __init__(self, data_dir: Path, port: int, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update({"RASTERLAB_DATA_DIR": str(data_dir), "RASTERLAB_PORT": str(port),
                    # test settings: the test job kinds, short heartbeats; the embedded defaults as unconfigured
                    "DJANGO_SETTINGS_MODULE": "backend.settings.test",
                    "RASTERLAB_ADMIN_USER": "admin", "RASTERLAB_ADMIN_PASSWORD": "admin-pw-launch-1",
                    "PYTHONUNBUFFERED": "1"})
        self.log = log
        # A session of its own stands in for the terminal: SIGINT goes to the launcher as Ctrl-C would.
        self.process = subprocess.Popen([sys.executable, "-m", "backend.launcher"], cwd=ROOT, env=env,
                                        stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._up, timeout=240, interval=1, message=f"the app to start ({log})")
        self.token = self.api("POST", "/api/auth/token/", {"username": "admin", "password": "admin-pw-launch-1"})["token"]

    def _up(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()[-3000:]
        try:
            return urllib.request.urlopen(f"{self.url}/accounts/login/", timeout=5).status == 200
        except OSError:
            return False

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if getattr(self, "token", None):
            headers["Authorization"] = f"Token {self.token}"
        request = urllib.request.Request(f"{self.url}{path}", method=method, headers=headers,
                                         data=json.dumps(body).encode() if body is not None else None)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


def _job_row(data_dir: Path, job_id: int) -> dict:
    with sqlite3.connect(data_dir / "rasterlab.sqlite3") as db:
        db.row_factory = sqlite3.Row
        return dict(db.execute("select * from jobs_job where id = ?", (job_id,)).fetchone())


def test_ctrl_c_stops_everything_and_the_running_job_runs_again_at_the_next_start(tmp_path):
    data_dir = Path(f"/tmp/rl-launch-{os.getpid()}")  # short: the Redis socket path has a 108-byte limit
    log = tmp_path / "launcher.log"
    app = Launched(data_dir, _free_port(), log)
    try:
        project = app.api("GET", "/api/projects/")["results"][0]["id"]
        job = app.api("POST", "/api/jobs/", {"kind": "test_count_long", "project": project,
                                              "params": {"steps": 200, "delay": 0.1}})
        wait_for(lambda: app.api("GET", f"/api/jobs/{job['id']}/")["progress"] > 0.02, timeout=120,
                 message="the job to run")
        children = descendants(app.process.pid)
        assert len(children) >= 4, "web, two workers, Redis and a work horse"

        began = time.monotonic()
        app.process.send_signal(signal.SIGINT)
        assert app.process.wait(timeout=STOP_LIMIT_S) == 0, log.read_text()[-3000:]
        took = time.monotonic() - began
        time.sleep(1.5)  # a work horse watches its worker once a second
        left = [pid for pid in children if Path(f"/proc/{pid}").exists()]
        assert not left, f"processes left running: {left}"
        row = _job_row(data_dir, job["id"])
        assert row["status"] == "queued" and "Interrupted" in row["message"], row
        assert took < STOP_LIMIT_S

        again = Launched(data_dir, _free_port(), log)
        try:
            done = wait_for(lambda: (j := again.api("GET", f"/api/jobs/{job['id']}/"))["status"] in
                            ("succeeded", "failed", "cancelled") and j, timeout=180, interval=1,
                            message="the interrupted job to run again")
            assert done["status"] == "succeeded", done
            again.process.send_signal(signal.SIGTERM)
            assert again.process.wait(timeout=STOP_LIMIT_S) == 0
        finally:
            kill9_tree(again.process.pid)
    finally:
        kill9_tree(app.process.pid)
        subprocess.run(["rm", "-rf", str(data_dir)], check=False)
