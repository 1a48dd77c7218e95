"""Shared fixtures: users and projects, API clients, and real RQ workers.

Redis: REDIS_URL from the environment (CI: the machine's Redis, a dedicated DB), else an
embedded redis-server started here on the socket the settings name.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

DATA = Path(__file__).parent / "data"
QUEUES = ("default", "long", "gpu")
ROOT = Path(__file__).parent.parent
_embedded_redis: subprocess.Popen | None = None


def _django_enabled(config: pytest.Config) -> bool:
    return config.pluginmanager.hasplugin("django")  # engine tests may run with -p no:django


def pytest_configure(config: pytest.Config) -> None:
    global _embedded_redis
    if not _django_enabled(config):
        return
    from django.conf import settings

    if settings.REDIS_IS_EMBEDDED:
        from backend.embedded_redis import start_embedded_redis

        _embedded_redis = start_embedded_redis(settings.EMBEDDED_REDIS_SOCKET, persist=False)
    else:
        from tests.redis_claim import RedisNotOurs, claim_redis_db

        try:
            claim_redis_db(settings.REDIS_URL)
        except RedisNotOurs as exc:
            pytest.exit(str(exc), returncode=2)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _embedded_redis is not None:
        _embedded_redis.terminate()


@pytest.fixture(autouse=True)
def _fresh_channel_layer(request: pytest.FixtureRequest) -> Iterator[None]:
    """A new channel layer object for each test.

    Each test's async_to_sync runs its own event loop, and channels_redis binds its receive lock to
    the loop that first used it: a socket cancelled mid-receive in one test left the shared layer's
    lock bound to a closed loop, and the next tests' sockets failed with "bound to a different event
    loop" (CI, once). Daphne runs one loop, so the app itself never meets this.
    """
    if _django_enabled(request.config):
        from channels.layers import channel_layers

        channel_layers.backends.clear()
    yield


@pytest.fixture(scope="session", autouse=True)
def _empty_queues(request: pytest.FixtureRequest) -> None:
    if not _django_enabled(request.config):
        return
    import django_rq

    for name in QUEUES:
        django_rq.get_queue(name).empty()


@pytest.fixture
def data_dir(settings, tmp_path: Path) -> Path:
    """A private RASTERLAB_DATA_DIR per test (files of rasters, packages, datasets)."""
    path = tmp_path / "data"
    for sub in ("tmp", "jobs", "run"):
        (path / sub).mkdir(parents=True)
    settings.DATA_DIR = path
    settings.FILE_UPLOAD_TEMP_DIR = str(path / "tmp")
    return path


@pytest.fixture
def make_user(django_user_model):
    def make(username: str):
        return django_user_model.objects.create_user(username=username, password="pw-" + username)

    return make


@pytest.fixture
def team(make_user):
    """A project with an owner, an editor and a viewer, and an outsider with a project of their own."""
    from apps.labeling.models import Membership
    from apps.labeling.services import project_create

    owner, editor, viewer, outsider = (make_user(n) for n in ("owner", "editor", "viewer", "outsider"))
    project = project_create(user=owner, name="Team", classes=[{"value": 1, "name": "Tree", "color": [0, 200, 0]}])
    Membership.objects.create(project=project, user=editor, role="editor")
    Membership.objects.create(project=project, user=viewer, role="viewer")
    other = project_create(user=outsider, name="Other team")
    return type("Team", (), {"owner": owner, "editor": editor, "viewer": viewer, "outsider": outsider,
                             "project": project, "other_project": other})


@pytest.fixture
def client_for():
    from rest_framework.test import APIClient

    def make(user) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_login(user)  # a session: DRF views and plain Django views (tiles) alike
        return client

    return make


@pytest.fixture
def run_jobs():
    """Run every queued RQ job in this process (RQ SimpleWorker in burst mode)."""
    import django_rq
    from rq import SimpleWorker

    def run(*queues: str) -> None:
        worker = django_rq.get_worker(*(queues or ("long", "default")), worker_class=SimpleWorker)
        # RQ installs its own SIGINT/SIGTERM handlers and leaves them: later tests that send
        # SIGINT to this process (the client's Ctrl-C) must get Python's KeyboardInterrupt.
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            worker.work(burst=True)
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)

    return run


def _database_url() -> str:
    from django.db import connection

    cfg = connection.settings_dict
    if cfg["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{cfg['NAME']}"
    auth = cfg["USER"] + (f":{cfg['PASSWORD']}" if cfg.get("PASSWORD") else "")
    return f"postgres://{auth}@{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/{cfg['NAME']}"


@pytest.fixture
def worker_env(data_dir: Path, settings) -> dict[str, str]:
    """Environment for worker subprocesses: the test database and this test's data dir."""
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "backend.settings.test",
        "DATABASE_URL": _database_url(),
        "RASTERLAB_DATA_DIR": str(data_dir),
        "REDIS_URL": settings.REDIS_URL,
        "PYTHONUNBUFFERED": "1",
    })
    return env


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A failing test with real workers gets their logs in its report (a timeout says little alone)."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed or report.when != "call":
        return
    for path in getattr(item, "worker_logs", []):
        try:
            text = Path(path).read_text(errors="replace")
        except OSError:
            continue
        report.sections.append((f"{Path(path).name} (tail)", text[-6000:]))


@pytest.fixture
def start_worker(worker_env: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest) -> Iterator:
    """Start real `manage.py rqworker` processes (own process group, so they can be SIGKILLed).

    The queues are emptied first: RQ jobs that earlier tests queued but never ran are not this test's."""
    import django_rq

    for name in QUEUES:
        django_rq.get_queue(name).empty()
    started: list[subprocess.Popen] = []
    request.node.worker_logs = []

    def start(*queues: str, name: str | None = None) -> subprocess.Popen:
        log = open(tmp_path / f"worker-{len(started)}.log", "wb")
        args = [sys.executable, "manage.py", "rqworker", *(queues or ("default",))]
        if name:
            # Unique per start: a SIGKILLed worker's registration outlives it in Redis for minutes, and
            # RQ refuses a second live worker of the same name (e.g. the next run of the same test).
            args += ["--name", f"{name}-{uuid.uuid4().hex[:8]}"]
        process = subprocess.Popen(args, cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        process.log_path = log.name  # type: ignore[attr-defined]
        request.node.worker_logs.append(log.name)
        started.append(process)
        return process

    yield start
    for process in started:
        kill9_tree(process.pid)
        process.wait(timeout=10)


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def descendants(pid: int) -> list[int]:
    """Child processes of ``pid``, recursively (from /proc; RQ's work horses run in their own session)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def kill9_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants at once, as if its machine died."""
    import signal

    for victim in [pid, *descendants(pid)]:
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass
