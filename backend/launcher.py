"""``make run``: migrate, create the admin account, load the demo, then run web + workers.

Uses the embedded defaults when nothing is configured (SQLite in RASTERLAB_DATA_DIR and a private
Redis on a unix socket). Two workers: one for short work (queue ``default``: ingest, export, import,
NMS) and one for long work (``long`` then ``default``: training and inference; ``gpu`` first where
CUDA is available), so an upload is ingested within seconds even while a model trains.

Ctrl-C (or SIGTERM) stops everything within seconds: each worker interrupts its running job and
queues it again (it runs from the start at the next ``make run``), then web, workers and Redis exit.
Every child runs in a session of its own (the terminal's Ctrl-C reaches only this process, which
stops them in order) and is told by the kernel to stop if this process dies.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.base")

STOP_TIMEOUT_S = 15.0
_PR_SET_PDEATHSIG = 1


class _StopRequested(Exception):
    pass


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], check=True)


def _gpu_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


def _die_with_launcher() -> Callable[[], None]:
    """preexec_fn: the child gets SIGTERM when the launcher dies, even by SIGKILL (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)

    def setup() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return setup


def _spawn(args: list[str]) -> subprocess.Popen[bytes]:
    preexec = _die_with_launcher() if sys.platform.startswith("linux") else None
    return subprocess.Popen(args, start_new_session=True, preexec_fn=preexec)  # noqa: PLW1509


def worker_queue_sets(gpu: bool) -> list[list[str]]:
    """What each worker of `make run` listens to: short work never waits behind long work."""
    return [["default"], (["gpu"] if gpu else []) + ["long", "default"]]


def _stop(processes: list[subprocess.Popen[bytes]], timeout: float) -> None:
    """SIGTERM all, wait up to ``timeout``, then SIGKILL whatever is left (whole process groups)."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # its session's group: work horses included
        except (ProcessLookupError, PermissionError):
            pass
        if process.poll() is None:
            process.wait(timeout=5)


def main() -> int:
    def request_stop(signum: int, frame: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # one Ctrl-C is enough; the stop is under way
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise _StopRequested

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    if not os.environ.get("SECRET_KEY"):  # nothing configured: a random key kept in the data dir
        from backend.secret_key import data_dir_from_env, ensure_secret_key

        ensure_secret_key(data_dir_from_env(Path(__file__).resolve().parent.parent))
    django.setup()
    from django.conf import settings

    from backend.embedded_redis import start_embedded_redis

    redis_process: subprocess.Popen[bytes] | None = None
    web: list[subprocess.Popen[bytes]] = []
    workers: list[subprocess.Popen[bytes]] = []
    try:
        if settings.REDIS_IS_EMBEDDED:
            redis_process = start_embedded_redis(settings.EMBEDDED_REDIS_SOCKET, settings.DATA_DIR / "run")
            print(f"Redis: embedded, {settings.EMBEDDED_REDIS_SOCKET} (set REDIS_URL to use your own)")
        else:
            print(f"Redis: {settings.redis_host_label()}")
        print(f"Database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]} "
              f"{settings.DATABASES['default']['NAME']}")
        print(f"Data directory: {settings.DATA_DIR}")
        _manage("migrate", "--noinput")
        _manage("ensure_admin")
        _manage("load_demo")
        host = os.environ.get("RASTERLAB_HOST", "127.0.0.1")
        port = os.environ.get("RASTERLAB_PORT", "8000")
        web.append(_spawn([sys.executable, "-m", "daphne", "-b", host, "-p", port, "backend.asgi:application"]))
        queue_sets = worker_queue_sets(_gpu_available())
        for queues in queue_sets:
            workers.append(_spawn([sys.executable, "manage.py", "rqworker", *queues]))
        described = "; ".join(" ".join(q) for q in queue_sets)
        print(f"\n  Rasterlab is running: http://{host}:{port}/   (workers: {described})\n"
              "  Press Ctrl-C to stop.\n", flush=True)
        while all(child.poll() is None for child in (*web, *workers)):
            time.sleep(0.5)
        print("A process stopped; shutting down.", flush=True)
        return 1
    except _StopRequested:
        print("\nStopping: running jobs are interrupted and queued again…", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # Workers first (they queue their jobs again, which needs Redis and the database), then web,
        # then Redis (it saves its data on SIGTERM).
        _stop(workers, STOP_TIMEOUT_S)
        _stop(web, 5.0)
        if redis_process is not None:
            _stop([redis_process], 10.0)
        print("Stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
