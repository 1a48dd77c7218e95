"""Benchmark of multi-raster inference (issue 17): one detect_objects job over 3 rasters against 3
separate jobs (wall time with 1 and 2 real workers), and the peak memory of a job over a collection
of 3 rasters against one raster.

A throwaway instance (temp data dir, SQLite, embedded Redis) is set up once with three synthetic
RGB rasters (bench.detect_engine.write_large: bright "trees" every ~40 px) and a random-weight SSD
(bench.detect's setup). Each scenario runs in a fresh subprocess:

* workers: N `manage.py rqworker long default` processes (torch 1 thread each) are started; then
  either one job with ``in_rasters`` (3 rasters) or 3 jobs with ``in_raster`` are started at once,
  and the wall time runs until every job has finished. Parts: part_size 512, so each raster is 4
  parts and any worker can take any of them.
* rss: the job run in-process (apps.jobs.runner.execute_job, as a worker runs it; the parent claims
  and runs its own parts when no other worker is there) over 1 and over 3 rasters; ru_maxrss.

Usage: nice .venv/bin/python bench/collections.py [--size 1024] [--skip-workers]
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
PART_SIZE = 512
ARGUMENTS = {"padding": 64, "batch_size": 8, "threshold": 0.3}


def _params(ids: dict[str, Any], rasters: list[str]) -> dict[str, Any]:
    inputs: dict[str, Any] = ({"in_raster": ids["rasters"][rasters[0]]} if len(rasters) == 1
                              else {"in_rasters": [ids["rasters"][r] for r in rasters]})
    return {**inputs, "in_model": ids["model"], "run_nms": True, "max_overlap_ratio": 0.1,
            "arguments": ARGUMENTS, "part_size": PART_SIZE}


def _start(ids: dict[str, Any], rasters: list[str]) -> Any:
    from django.contrib.auth.models import User

    from apps.jobs.services import job_start

    return job_start(user=User.objects.get(pk=ids["user"]), kind="detect_objects", project_id=ids["project"],
                     params=_params(ids, rasters))


def child_rss(spec: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    from apps.jobs.runner import execute_job

    job = _start(spec["ids"], spec["rasters"])
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    t0 = time.perf_counter()
    execute_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", (job.status, job.error)
    return {"s": time.perf_counter() - t0, "rss_base_mib": base,
            "rss_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            "count": job.result["count"], "parts": job.params["planned_parts"]}


def child_workers(spec: dict[str, Any]) -> dict[str, Any]:
    """Start the jobs (one over all rasters, or one per raster) and wait for the workers to finish them."""
    from apps.jobs.models import Job

    groups = [spec["rasters"]] if spec["together"] else [[r] for r in spec["rasters"]]
    t0 = time.perf_counter()
    jobs = [_start(spec["ids"], group) for group in groups]
    while True:
        states = list(Job.objects.filter(pk__in=[j.pk for j in jobs]).values_list("status", flat=True))
        if all(s in ("succeeded", "failed", "cancelled") for s in states):
            break
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    done = list(Job.objects.filter(pk__in=[j.pk for j in jobs]))
    runners = set(Job.objects.filter(parent_id__in=[j.pk for j in jobs]).values_list("worker_id", flat=True))
    return {"wall_s": wall, "statuses": sorted({j.status for j in done}),
            "count": sum((j.result or {}).get("count", 0) for j in done), "runners": len(runners)}


def run_child(env: dict[str, str], mode: str, spec: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", mode, json.dumps(spec)], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"{mode} failed")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _workers(env: dict[str, str], n: int) -> list[subprocess.Popen]:
    wenv = {**env, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "manage.py", "rqworker", "long", "default"], cwd=ROOT, env=wenv,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)]
    time.sleep(5)
    return procs


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1024, help="side of each synthetic raster, pixels")
    parser.add_argument("--skip-workers", action="store_true")
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--workers", default="1,2", help="worker counts to time, e.g. 1,2")
    parser.add_argument("--separate-first", action="store_true", help="time the 3 separate jobs first")
    parser.add_argument("--child")
    parser.add_argument("spec", nargs="?")
    args = parser.parse_args()
    if args.child:
        import django

        django.setup()
        if args.child == "setup":
            from bench.detect import child_setup

            print(json.dumps(child_setup(json.loads(args.spec))))
            return
        fn = {"rss": child_rss, "workers": child_workers}[args.child]
        print(json.dumps(fn(json.loads(args.spec))))
        return

    from backend.embedded_redis import start_embedded_redis
    from bench.detect_engine import write_large

    tmp = Path(tempfile.mkdtemp(prefix="rasterlab-bench-collections-"))
    env = {**os.environ, "RASTERLAB_DATA_DIR": str(tmp), "DJANGO_SETTINGS_MODULE": "backend.settings.base",
           "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
           "GDAL_CACHEMAX": os.environ.get("GDAL_CACHEMAX", "64")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    redis = start_embedded_redis(tmp / "run" / "redis.sock", persist=False)
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        names = ["a", "b", "c"]
        paths = {n: str(write_large(tmp / f"{n}.tif", args.size)) for n in names}
        ids = run_child(env, "setup", {"data_dir": str(tmp), "rasters": paths})
        if not args.skip_rss:
            _rss(env, ids, names)
        if args.skip_workers:
            return
        for n in (int(v) for v in args.workers.split(",")):
            procs = _workers(env, n)
            try:
                for together in ((False, True) if args.separate_first else (True, False)):
                    res = run_child(env, "workers", {"ids": ids, "rasters": names, "together": together})
                    what = "1 job over 3 rasters" if together else "3 separate jobs    "
                    print(f"workers {n}: {what}: {res['wall_s']:.1f} s ({res['statuses']}, {res['count']} detections, "
                          f"parts run by {res['runners']} process(es))", flush=True)
            finally:
                _stop(procs)
    finally:
        if redis:
            redis.terminate()
        shutil.rmtree(tmp, ignore_errors=True)


def _rss(env: dict[str, str], ids: dict[str, Any], names: list[str]) -> None:
    one = run_child(env, "rss", {"ids": ids, "rasters": names[:1]})
    three = run_child(env, "rss", {"ids": ids, "rasters": names})
    print(f"rss   1 raster: peak {one['rss_peak_mib']:.0f} MiB ({one['parts']} parts, {one['count']} detections, "
              f"{one['s']:.1f} s); collection of 3: peak {three['rss_peak_mib']:.0f} MiB ({three['parts']} parts, "
              f"{three['count']} detections, {three['s']:.1f} s) -> ratio "
              f"{three['rss_peak_mib'] / one['rss_peak_mib']:.2f}", flush=True)


if __name__ == "__main__":
    main()
