"""``make run``: migrate, create the admin account, load the demo, then run web + worker.

Uses the embedded defaults when nothing is configured (SQLite in RASTERLAB_DATA_DIR and a private
Redis on a unix socket). Ctrl-C stops everything it started.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.base")


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], check=True)


def _gpu_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # run the same cleanup as Ctrl-C


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    django.setup()
    from django.conf import settings

    from backend.embedded_redis import start_embedded_redis

    children: list[subprocess.Popen] = []
    if settings.REDIS_IS_EMBEDDED:
        redis_process = start_embedded_redis(settings.EMBEDDED_REDIS_SOCKET, settings.DATA_DIR / "run")
        if redis_process:
            children.append(redis_process)
        print(f"Redis: embedded, {settings.EMBEDDED_REDIS_SOCKET} (set REDIS_URL to use your own)")
    else:
        print(f"Redis: {settings.redis_host_label()}")
    print(f"Database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]} "
          f"{settings.DATABASES['default']['NAME']}")
    print(f"Data directory: {settings.DATA_DIR}")
    try:
        _manage("migrate", "--noinput")
        _manage("ensure_admin")
        _manage("load_demo")
        host = os.environ.get("RASTERLAB_HOST", "127.0.0.1")
        port = os.environ.get("RASTERLAB_PORT", "8000")
        children.append(subprocess.Popen([sys.executable, "-m", "daphne", "-b", host, "-p", port,
                                          "backend.asgi:application"]))
        queues = ["default", "gpu"] if _gpu_available() else ["default"]
        children.append(subprocess.Popen([sys.executable, "manage.py", "rqworker", *queues]))
        print(f"\n  Rasterlab is running: http://{host}:{port}/   (worker queues: {', '.join(queues)})\n"
              "  Press Ctrl-C to stop.\n", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("A process stopped; shutting down.")
        return 1
    except KeyboardInterrupt:
        print("\nStopping…")
        return 0
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in reversed(children):
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


if __name__ == "__main__":
    sys.exit(main())
