"""The client builds as a wheel with only its few dependencies, and that wheel imports on its own
(outside the repository's checkout)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_client_is_a_wheel_with_few_dependencies(tmp_path):
    # built from a copy: setuptools leaves build/ and *.egg-info next to the sources it builds
    source = shutil.copytree(ROOT / "clients" / "python", tmp_path / "src",
                             ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    built = subprocess.run([sys.executable, "-m", "pip", "--isolated", "wheel", "-q", "--no-deps",
                            "--no-build-isolation", str(source), "-w", str(tmp_path)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("rasterlab_client-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "rasterlab_client/client.py" in names and not any(n.startswith(("apps/", "backend/")) for n in names)
    requires = sorted(line.split(":", 1)[1].split(">=")[0].strip() for line in metadata.splitlines()
                      if line.startswith("Requires-Dist:"))
    assert requires == ["geopandas", "requests", "tqdm", "websocket-client"], requires
    assert 'extra == "geo"' in metadata

    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "--isolated", "install", "-q", "--no-deps",
                                "--target", str(target), str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-2000:]
    probe = ("import rasterlab_client, sys; assert rasterlab_client.__file__.startswith(sys.argv[1]), "
             "rasterlab_client.__file__; print(rasterlab_client.Rasterlab.detect_objects.__doc__[:6])")
    run = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); "
                          "import site; site.main(); " + probe, str(target)],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 0 and run.stdout.strip() == "Detect", run.stderr[-2000:]
