"""Benchmark of the detect_objects *job* (Django side of issue 8): end-to-end vs forward passes,
peak memory on a large vs a small raster, and 1 vs 2 workers.

A throwaway instance (temp data dir, SQLite, embedded Redis) is set up once; each scenario runs in a
fresh subprocess so that ru_maxrss is that scenario's own peak:

* e2e: the job on tests/data/OSBS_029.tif with a random-weight SSD (mobilenet_v3_large, 256 px
  chips, padding 64) run in-process with apps.jobs.runner.execute_job; prints the job's wall time
  (validation excluded; model load, plan, read, model, merge rules, NMS and the layer write
  included) against the sum of the predictor's prepare+detect calls over the same chips.
* rss: peak RSS of the job on OSBS_029 and on a synthetic N x N raster (default 6000; bright
  "trees" every ~40 px, so tens of thousands of detections are streamed into the layer). The
  predictor is the engine bench's fake (connected components) unless --real-rss, so the figure is
  the job's own memory, not the model's.
* workers: a job split into parts (part_size 512 on a 1536 px synthetic raster, real SSD) with 1 and
  then 2 real `manage.py rqworker` processes (torch 1 thread each); wall time from start to finish.

Usage: .venv/bin/python bench/detect.py [--large 6000] [--real-rss] [--skip-workers]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SMALL = ROOT / "tests" / "data" / "OSBS_029.tif"
CHIP, PADDING, BATCH = 256, 64, 8


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ------------------------------------------------------------------------------------ child side
def django_setup() -> None:
    import django

    django.setup()


def child_setup(spec: dict[str, Any]) -> dict[str, Any]:
    """User, project, rasters (ingested) and the SSD package; returns their ids."""
    import torch
    from django.contrib.auth.models import User

    from apps.jobs.runner import execute_job
    from apps.labeling.services import project_create, raster_create_from_upload
    from apps.models.packages.services import model_package_create_from_folder
    from backend.engine.nets import build_model

    user = User.objects.create_user("bench", password="bench-pw")
    project = project_create(user=user, name="bench")
    rasters = {}
    for name, path in spec["rasters"].items():
        copy = Path(spec["data_dir"]) / "tmp" / f"{name}.tif"
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, copy)
        raster = raster_create_from_upload(user=user, project=project, uploaded_path=copy, name=name)
        execute_job(raster.ingest_job_id)
        rasters[name] = raster.pk
    torch.manual_seed(0)
    model = build_model("SingleShotDetector", "mobilenet_v3_large", 1, 3, CHIP, pretrained_backbone=False)
    folder = Path(spec["data_dir"]) / "ssd"
    folder.mkdir(exist_ok=True)
    torch.save(model.state_dict(), folder / "model.pth")
    (folder / "model.emd").write_text(json.dumps({
        "Framework": "PyTorch", "ModelConfiguration": "rasterlab.SingleShotDetector", "ModelType": "ObjectDetection",
        "ModelFile": "model.pth", "ModelName": "SingleShotDetector", "ImageHeight": CHIP, "ImageWidth": CHIP,
        "ExtractBands": [0, 1, 2], "Classes": [{"Value": 1, "Name": "Tree", "Color": [0, 200, 0]}],
        "ModelParameters": {"backbone": "mobilenet_v3_large", "rasterlab_arch": "SingleShotDetector"}}))
    package = model_package_create_from_folder(project=project, user=user, folder=folder, title="SSD")
    import django_rq

    for queue in ("long", "default"):
        django_rq.get_queue(queue).empty()
    return {"user": user.pk, "project": project.pk, "rasters": rasters, "model": package.pk}


def _start(ids: dict[str, Any], raster: str, **extra: Any) -> Any:
    from django.contrib.auth.models import User

    from apps.jobs.services import job_start

    params = {"in_raster": ids["rasters"][raster], "in_model": ids["model"], "run_nms": True,
              "max_overlap_ratio": 0.1, "arguments": {"padding": PADDING, "batch_size": BATCH, "threshold": 0.3}}
    params.update(extra)
    return job_start(user=User.objects.get(pk=ids["user"]), kind="detect_objects", project_id=ids["project"],
                     params=params)


def child_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one job in this process with a timed (or fake) predictor."""
    import django_rq
    import torch

    torch.set_num_threads(int(spec.get("threads", 2)))
    from apps.jobs.models import Job
    from apps.jobs.runner import execute_job
    from apps.models.inference import parts
    from bench.detect_engine import Timed, fake_predictor

    real_for = parts.predictor_for
    timed: list[Any] = []
    load_s = [0.0]

    def predictor_for(model_id: int, processor_type: str) -> Any:
        if not timed:
            t = time.perf_counter()
            inner = real_for(model_id, processor_type) if spec["predictor"] == "real" else \
                fake_predictor("object_detection", CHIP)
            load_s[0] = time.perf_counter() - t
            timed.append(Timed(inner))
        return timed[0]

    parts.predictor_for = predictor_for  # type: ignore[assignment]
    import apps.models.inference.services as services

    services.predictor_for = predictor_for  # type: ignore[assignment]
    job = _start(spec["ids"], spec["raster"], **spec.get("extra", {}))
    base = rss_mib()
    t0 = time.perf_counter()
    execute_job(job.pk)
    e2e = time.perf_counter() - t0
    job.refresh_from_db()
    for queue in ("long", "default"):
        django_rq.get_queue(queue).empty()
    assert job.status == "succeeded", (job.status, job.error)
    p = timed[0] if timed else None
    return {"e2e_s": e2e, "forward_s": p.seconds if p else 0.0, "chips": p.chips if p else 0,
            "model_load_s": load_s[0], "count": job.result.get("count"), "rss_base_mib": base,
            "rss_peak_mib": rss_mib(), "parts": job.params.get("planned_parts")}


def child_workers(spec: dict[str, Any]) -> dict[str, Any]:
    """Start a job and wait for the running workers to finish it."""
    from apps.jobs.models import Job

    job = _start(spec["ids"], spec["raster"], **spec.get("extra", {}))
    t0 = time.perf_counter()
    while True:
        job.refresh_from_db()
        if job.status in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    workers = sorted(set(Job.objects.filter(parent_id=job.pk).values_list("worker_id", flat=True)))
    return {"wall_s": wall, "status": job.status, "error": job.error, "count": (job.result or {}).get("count"),
            "part_runners": workers}


# ----------------------------------------------------------------------------------- parent side
def run_child(env: dict[str, str], mode: str, spec: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", mode, json.dumps(spec)], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"{mode} failed")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", type=int, default=6000)
    parser.add_argument("--real-rss", action="store_true")
    parser.add_argument("--skip-workers", action="store_true")
    parser.add_argument("--child")
    parser.add_argument("spec", nargs="?")
    args = parser.parse_args()
    if args.child:
        django_setup()
        fn = {"setup": child_setup, "job": child_job, "workers": child_workers}[args.child]
        print(json.dumps(fn(json.loads(args.spec))))
        return

    from backend.embedded_redis import start_embedded_redis
    from bench.detect_engine import write_large

    tmp = Path(tempfile.mkdtemp(prefix="rasterlab-bench-detect-"))
    env = {**os.environ, "RASTERLAB_DATA_DIR": str(tmp), "DJANGO_SETTINGS_MODULE": "backend.settings.base",
           "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
           "GDAL_CACHEMAX": os.environ.get("GDAL_CACHEMAX", "64")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    redis = start_embedded_redis(tmp / "run" / "redis.sock", persist=False)
    workers: list[subprocess.Popen] = []
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        large = write_large(tmp / "large.tif", args.large)
        medium = write_large(tmp / "medium.tif", 1536)
        ids = run_child(env, "setup", {"data_dir": str(tmp), "rasters": {
            "small": str(SMALL), "large": str(large), "medium": str(medium)}})
        e2e = run_child(env, "job", {"ids": ids, "raster": "small", "predictor": "real"})
        print(f"e2e   OSBS_029 real SSD: job {e2e['e2e_s']:.2f} s (model load {e2e['model_load_s']:.2f} s), "
              f"forward {e2e['forward_s']:.2f} s over {e2e['chips']} chips -> ratio "
              f"{e2e['e2e_s'] / max(e2e['forward_s'], 1e-9):.2f} "
              f"(without model load {(e2e['e2e_s'] - e2e['model_load_s']) / max(e2e['forward_s'], 1e-9):.2f}); "
              f"{e2e['count']} detections")
        kind = "real" if args.real_rss else "fake"
        small = run_child(env, "job", {"ids": ids, "raster": "small", "predictor": kind})
        big = run_child(env, "job", {"ids": ids, "raster": "large", "predictor": kind})
        print(f"rss   small {small['rss_peak_mib']:.0f} MiB ({small['count']} features), large "
              f"{args.large}^2 {big['rss_peak_mib']:.0f} MiB ({big['count']} features, {big['parts']} part(s), "
              f"{big['e2e_s']:.1f} s) -> ratio {big['rss_peak_mib'] / small['rss_peak_mib']:.2f}")
        if not args.skip_workers:
            wenv = {**env, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
            timings = {}
            for n in (1, 2):
                for i in range(n - len(workers)):
                    # inference runs on the "long" queue (apps.jobs.registry JobKind.queue)
                    workers.append(subprocess.Popen([sys.executable, "manage.py", "rqworker", "long", "default"], cwd=ROOT,
                                                    env=wenv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                time.sleep(4)
                res = run_child(env, "workers", {"ids": ids, "raster": "medium", "extra": {"part_size": 512}})
                timings[n] = res
                print(f"workers {n}: {res['wall_s']:.1f} s ({res['status']}, {res['count']} detections, "
                      f"parts run by {res['part_runners']})")
            print(f"speed-up 2 vs 1 workers: {timings[1]['wall_s'] / timings[2]['wall_s']:.2f}x")
    finally:
        for w in workers:
            w.terminate()
            w.wait(timeout=20)
        if redis:
            redis.terminate()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
