"""A real Rasterlab for the Python client's tests: daphne (HTTP + websockets) and two RQ workers in
subprocesses, as `make run` starts them, with their own database, data directory and private Redis.

Database: a PostgreSQL DATABASE_URL -> a separate database `<name>_pyclient` (dropped and made
here); else SQLite in the data directory. Redis: always a private redis-server on a unix socket (the
e2e fixture's helpers), so the suite's REDIS_URL database is never touched. Offline: training never
downloads weights (random starts), as in the rest of the suite.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.e2e.conftest import LiveApp, _free_port, _kill_group, run_setup, start_app
from tests.e2e.helpers import User

ROOT = Path(__file__).resolve().parents[2]
USERS = """
from django.contrib.auth import get_user_model
User = get_user_model()
for name, password in [({owner!r}, {owner_pw!r}), ({other!r}, {other_pw!r})]:
    user, _ = User.objects.get_or_create(username=name)
    user.set_password(password)
    user.save()
"""


def _postgres_database(url: str, create: bool) -> str:
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'rasterlab'}_pyclient"
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def server() -> Iterator[LiveApp]:
    from backend.embedded_redis import start_embedded_redis
    from backend.secret_key import ensure_secret_key

    data_dir = Path(tempfile.mkdtemp(prefix="rl-pyc-"))  # short: the Redis socket path has a 108-byte limit
    (data_dir / "logs").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "REDIS_URL")}
    env.update({"DJANGO_SETTINGS_MODULE": "backend.settings.base", "RASTERLAB_DATA_DIR": str(data_dir),
                "PYTHONUNBUFFERED": "1", "RASTERLAB_OFFLINE": "1", "SECRET_KEY": ensure_secret_key(data_dir)})
    db_url = os.environ.get("DATABASE_URL", "")
    postgres = db_url.startswith(("postgres://", "postgresql://"))
    env["DATABASE_URL"] = _postgres_database(db_url, True) if postgres else f"sqlite:///{data_dir / 'db.sqlite3'}"
    redis = start_embedded_redis(data_dir / "run" / "redis.sock", data_dir / "run", persist=False)
    port = _free_port()
    app = LiveApp(url=f"http://127.0.0.1:{port}", owner=User("pyc-owner", "pyc-owner-pw-3301"),
                  other=User("pyc-other", "pyc-other-pw-8812"), data_dir=data_dir)
    failed = False
    try:
        run_setup(env, [
            ("migrate", [sys.executable, "manage.py", "migrate", "--noinput"]),
            ("users", [sys.executable, "manage.py", "shell", "-c", USERS.format(
                owner=app.owner.username, owner_pw=app.owner.password,
                other=app.other.username, other_pw=app.other.password)]),
        ])
        start_app(app, env, port, data_dir / "logs")
        yield app
    except BaseException:
        failed = True
        raise
    finally:
        for process in app.processes.values():
            _kill_group(process)
        if redis is not None:
            redis.terminate()
            redis.wait(timeout=10)
        if not failed and not os.environ.get("RASTERLAB_E2E_KEEP"):
            shutil.rmtree(data_dir, ignore_errors=True)
            if postgres:
                _postgres_database(db_url, False)


@pytest.fixture
def rl(server: LiveApp):
    """A client signed in as the owner, without progress bars (they go to stderr either way)."""
    from rasterlab_client import Rasterlab

    return Rasterlab(server.url, username=server.owner.username, password=server.owner.password, progress=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A failing client test gets the server's and workers' logs in its report."""
    outcome = yield
    report = outcome.get_result()
    app = getattr(item, "funcargs", {}).get("server")
    if report.failed and isinstance(app, LiveApp):
        for name, text in app.log_tails().items():
            report.sections.append((f"{name} log (tail)", text))
