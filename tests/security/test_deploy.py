"""Production mode is safe by default (issue 14): no SECRET_KEY -> no start (unless debug), `make
run` keeps a key in the data directory, `check --deploy` is clean under README's "Deploying"
environment, and browsers' websocket handshakes must come from this site."""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from backend.secret_key import ensure_secret_key, read_secret_key
from tests.conftest import ROOT


def _clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "RASTERLAB_DEBUG", "DATABASE_URL", "REDIS_URL") and not k.startswith("RASTERLAB_")}
    env.update({"DJANGO_SETTINGS_MODULE": "backend.settings.base", "RASTERLAB_DATA_DIR": str(data_dir), **extra})
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_no_secret_key_refuses_to_start_unless_debug(tmp_path):
    refused = _manage(_clean_env(tmp_path), "check")
    assert refused.returncode != 0
    assert "SECRET_KEY is not set" in refused.stderr and "make run" in refused.stderr
    assert _manage(_clean_env(tmp_path, RASTERLAB_DEBUG="true"), "check").returncode == 0


def test_make_run_key_is_random_private_and_kept(tmp_path):
    key = ensure_secret_key(tmp_path)
    assert len(key) >= 50 and ensure_secret_key(tmp_path) == key == read_secret_key(tmp_path)
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert ensure_secret_key(tmp_path / "other") != key
    # Every process on that data directory (web, workers, manage.py) now starts without SECRET_KEY.
    assert _manage(_clean_env(tmp_path), "check").returncode == 0


def _deploying_env() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deploying", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    pairs = re.findall(r"^export (\w+)=(\S+)$", block, flags=re.M)
    assert len(pairs) >= 5, block
    return dict(pairs)


def test_check_deploy_is_clean_under_the_documented_production_env(tmp_path):
    env = _deploying_env()
    env["RASTERLAB_DATA_DIR"] = str(tmp_path)
    env.pop("DATABASE_URL")  # the check needs no database; the README's host does not exist here
    result = _manage(_clean_env(tmp_path, **env), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    # And the defaults are what made it clean: without HTTPS the same check warns.
    env.pop("RASTERLAB_HTTPS")
    warned = _manage(_clean_env(tmp_path, **env), "check", "--deploy", "--fail-level", "WARNING")
    assert warned.returncode != 0 and "security.W008" in warned.stderr + warned.stdout


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("origin, accepted", [
    (None, True),                           # API clients send no Origin
    (b"http://testserver", True),           # the site itself
    (b"https://evil.example", False),       # another site's page using the visitor's session
    (b"http://testserver.evil.example", False),
])
def test_websocket_handshakes_from_other_sites_are_refused(team, origin, accepted):
    from rest_framework.authtoken.models import Token

    from backend.asgi import application

    token = Token.objects.create(user=team.owner).key
    headers = [(b"host", b"testserver")] + ([(b"origin", origin)] if origin else [])

    async def connect() -> bool:
        ws = WebsocketCommunicator(application, f"/ws/projects/{team.project.pk}/jobs/?token={token}", headers)
        connected, _ = await ws.connect()
        await ws.disconnect()
        return connected

    assert async_to_sync(connect)() is accepted
