"""Benchmark live co-editing: N clients create, edit and delete labels over HTTP on one layer while
websocket listeners measure how fast each change reaches them.

Each client is a user of the project working at ``--rate`` edits per second (Poisson arrivals):
35 % creates, 55 % edits of any known feature with the version it last saw (so clients collide and
get 409s, as co-editors do), 10 % deletes. Printed:

- write latency p50/p95/p99 (HTTP request -> response) and throughput;
- fan-out p50/p95/p99: the commit's broadcast (server ``sent_at``) -> a listener has the event, and
  end to end: the writer sends its request -> a listener has the event;
- lost updates (must be 0): two successful writes that produced the same (feature, version), or a
  feature whose final state is not its last successful write, or a deleted feature still there;
  and events missed by listeners.

Without ``--url`` it starts its own server (bench/_server.py: temp dir, SQLite or with
``--database-url postgres://...`` a fresh ``<db>_bench`` database, embedded Redis, daphne); with
``--url URL --token KEY`` it uses a running one (all clients as that user).

    .venv/bin/python bench/labels.py [--clients 50] [--listeners 10] [--duration 20] [--rate 1]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LON, LAT = -81.9912, 29.6892
CLASSES = [{"value": v, "name": n, "color": c} for v, n, c in
           [(1, "Tree", [0, 200, 0]), (2, "Dead", [200, 0, 0]), (3, "Shrub", [200, 200, 0])]]


@dataclass
class Stats:
    writes: dict[str, list[float]] = field(default_factory=lambda: {"create": [], "edit": [], "delete": []})
    conflicts: int = 0
    errors: list[str] = field(default_factory=list)
    # (fid, version) -> stamp of the successful write that produced it
    produced: dict[tuple[int, int], str] = field(default_factory=dict)
    collisions: int = 0
    deleted: set[int] = field(default_factory=set)
    # event key -> wall time the writer sent its request
    sent: dict[tuple[str, int, int], float] = field(default_factory=dict)
    fanout: list[float] = field(default_factory=list)
    end_to_end: list[float] = field(default_factory=list)
    received: list[set[tuple[str, int, int]]] = field(default_factory=list)


def square(rng: random.Random) -> dict[str, Any]:
    lon, lat, s = LON + rng.uniform(0, 0.01), LAT + rng.uniform(0, 0.01), rng.uniform(0.00002, 0.0001)
    return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + s, lat], [lon + s, lat + s], [lon, lat + s],
                                                [lon, lat]]]}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def client_loop(index: int, http: httpx.AsyncClient, layer: int, known: dict[int, int], stats: Stats,
                      until: float, rate: float) -> None:
    rng = random.Random(index)
    base = f"/api/layers/{layer}/features/"
    while True:
        await asyncio.sleep(rng.expovariate(rate))
        if time.monotonic() >= until:
            return
        roll = rng.random()
        stamp = uuid.uuid4().hex[:12]
        fid = rng.choice(list(known)) if known else None
        version = known.get(fid, 0) if fid is not None else 0
        sent = time.time()
        start = time.perf_counter()
        try:
            if fid is None or roll < 0.35:
                op = "create"
                r = await http.post(base, json={"type": "Feature", "geometry": square(rng), "properties": {
                    "class_value": rng.choice(CLASSES)["value"], "stamp": stamp}})
            elif roll < 0.90:
                op = "edit"
                r = await http.patch(f"{base}{fid}/", headers={"If-Match": str(version)}, json={
                    "geometry": square(rng), "properties": {"class_value": rng.choice(CLASSES)["value"],
                                                            "stamp": stamp}})
            else:
                op = "delete"
                r = await http.delete(f"{base}{fid}/", headers={"If-Match": str(version)})
        except httpx.HTTPError as exc:
            stats.errors.append(f"{type(exc).__name__}: {exc}")
            continue
        elapsed = time.perf_counter() - start
        stats.writes[op].append(elapsed)
        if r.status_code in (200, 201):
            body = r.json()
            key = (body["id"], body["properties"]["version"])
            if key in stats.produced:
                stats.collisions += 1
            stats.produced[key] = stamp
            stats.sent[("feature.created" if op == "create" else "feature.updated", *key)] = sent
            known[body["id"]] = body["properties"]["version"]
        elif r.status_code == 204:
            stats.deleted.add(fid)
            stats.sent[("feature.deleted", fid, version)] = sent
            known.pop(fid, None)
        elif r.status_code == 409:
            stats.conflicts += 1
            current = r.json()["feature"]
            known[current["id"]] = current["properties"]["version"]
        elif r.status_code == 404:
            known.pop(fid, None)
        else:
            stats.errors.append(f"{op}: HTTP {r.status_code} {r.text[:200]}")


async def listener(url: str, stats: Stats, ready: asyncio.Event, stop: asyncio.Event) -> None:
    seen: set[tuple[str, int, int]] = set()
    stats.received.append(seen)
    async with websockets.connect(url, max_size=None) as ws:
        ready.set()
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except asyncio.TimeoutError:
                continue
            now = time.time()
            event = json.loads(raw)
            if not event["type"].startswith("feature."):
                continue
            key = (event["type"], event["feature"]["id"], event["feature"]["properties"]["version"])
            seen.add(key)
            stats.fanout.append(now - event["sent_at"])
            if key in stats.sent:
                stats.end_to_end.append(now - stats.sent[key])


def check_final(state: list[dict[str, Any]], stats: Stats) -> int:
    lost = stats.collisions
    latest: dict[int, int] = {}
    for fid, version in stats.produced:
        latest[fid] = max(version, latest.get(fid, 0))
    current = {f["id"]: f["properties"] for f in state}
    for fid, version in latest.items():
        if fid in stats.deleted:
            lost += fid in current
            continue
        props = current.get(fid)
        if props is None or props["version"] != version or props.get("stamp") != stats.produced[(fid, version)]:
            lost += 1
    return lost


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), 0 when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


async def run(urls: list[str], tokens: list[str], layer: int, args: argparse.Namespace,
              server_pids: list[int] | None = None) -> dict[str, Any]:
    """Clients and listeners are spread round-robin over ``urls`` (web processes)."""
    stats = Stats()
    known: dict[int, int] = {}
    ws_bases = [u.replace("http://", "ws://").replace("https://", "wss://") for u in urls]
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in range(args.listeners)]
    listeners = [asyncio.create_task(listener(f"{ws_bases[i % len(urls)]}/ws/layers/{layer}/?token={tokens[i % len(tokens)]}",
                                              stats, readies[i], stop)) for i in range(args.listeners)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=30)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(base_url=urls[i % len(urls)], headers={"Authorization": f"Token {tokens[i % len(tokens)]}"},
                                 timeout=60, limits=limits) for i in range(args.clients)]
    started = time.monotonic()
    pids = server_pids or []
    cpu_server = sum(process_cpu_seconds(p) for p in pids)
    cpu_self = time.process_time()
    until = started + args.duration
    await asyncio.gather(*(client_loop(i, c, layer, known, stats, until, args.rate) for i, c in enumerate(clients)))
    elapsed = time.monotonic() - started
    cpu_server = sum(process_cpu_seconds(p) for p in pids) - cpu_server if pids else None
    cpu_self = time.process_time() - cpu_self
    await asyncio.sleep(2.0)  # let the last events arrive
    stop.set()
    await asyncio.gather(*listeners, return_exceptions=True)
    final = (await clients[0].get(f"/api/layers/{layer}/features/")).json()["features"]
    for c in clients:
        await c.aclose()
    expected = set(stats.sent)
    missed = sum(len(expected - seen) for seen in stats.received)
    writes = [v for values in stats.writes.values() for v in values]
    ms = lambda v: round(v * 1000, 1)  # noqa: E731
    return {
        "clients": args.clients, "listeners": args.listeners, "web_processes": len(urls),
        "duration_s": round(elapsed, 1),
        "writes": len(writes), "writes_per_s": round(len(writes) / elapsed, 1),
        "by_kind": {k: len(v) for k, v in stats.writes.items()}, "conflicts_409": stats.conflicts,
        "write_ms": {"p50": ms(pct(writes, 50)), "p95": ms(pct(writes, 95)), "p99": ms(pct(writes, 99)),
                     "mean": ms(statistics.fmean(writes)) if writes else None},
        "fanout_ms": {"p50": ms(pct(stats.fanout, 50)), "p95": ms(pct(stats.fanout, 95)),
                      "p99": ms(pct(stats.fanout, 99)), "deliveries": len(stats.fanout)},
        "end_to_end_ms": {"p50": ms(pct(stats.end_to_end, 50)), "p95": ms(pct(stats.end_to_end, 95)),
                          "p99": ms(pct(stats.end_to_end, 99))},
        "cpu_s": {"server": round(cpu_server, 1) if cpu_server is not None else None, "bench": round(cpu_self, 1),
                  "server_ms_per_write": round(cpu_server / len(writes) * 1000, 1) if cpu_server and writes else None,
                  "load_avg_1m": os.getloadavg()[0], "cpus": os.cpu_count()},
        "lost_updates": check_final(final, stats), "events_missed": missed, "errors": stats.errors[:5],
        "error_count": len(stats.errors),
    }


def _fresh_postgres(url: str) -> str:
    """Recreate ``<db>_bench`` next to the given PostgreSQL database; return its URL."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'rasterlab'}_bench"
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def setup_own_server(args: argparse.Namespace) -> tuple[Any, list[str], int]:
    from bench._server import BenchServer

    server = BenchServer()
    if args.database_url:
        server.env["DATABASE_URL"] = _fresh_postgres(args.database_url)
        # Under ASGI each request runs in its own thread: persistent connections would pile up.
        server.env.setdefault("RASTERLAB_DB_CONN_MAX_AGE", "0")
    server = server.__enter__()
    n = args.clients
    server.manage("shell", "-c", (
        "from django.contrib.auth.models import User\n"
        "from rest_framework.authtoken.models import Token\n"
        f"for i in range({n}):\n"
        "    u = User.objects.create_user(f'labeler{i}', password='x')\n"
        "    Token.objects.create(user=u, key=f'{i:040d}')\n"
    ))
    tokens = [f"{i:040d}" for i in range(n)]
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Token {tokens[0]}"}, timeout=60) as http:
        project = http.post("/api/projects/", json={"name": "Bench", "classes": CLASSES}).json()
        for i in range(1, n):
            http.post(f"/api/projects/{project['id']}/members/", json={"username": f"labeler{i}", "role": "editor"})
        layer = http.get("/api/layers/", params={"project": project["id"]}).json()["results"][0]["id"]
    return server, tokens, layer


def start_more_web(server: Any, count: int) -> tuple[list[str], list[int]]:
    """The server's daphne plus ``count - 1`` more on other ports (same database and Redis), as a
    deployment runs several web processes; returns their URLs and process ids."""
    import subprocess

    from bench._server import ROOT, free_port

    urls = [server.url]
    pids = [p.pid for p in server.processes if "daphne" in " ".join(map(str, p.args))]
    for _ in range(count - 1):
        port = free_port()
        log = open(server.data_dir / f"daphne-{port}.log", "wb")
        process = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                                    "backend.asgi:application"], cwd=ROOT, env=server.env, stdout=log,
                                   stderr=subprocess.STDOUT)
        server.processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/accounts/login/").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        urls.append(url)
        pids.append(process.pid)
    return urls, pids


def setup_existing(args: argparse.Namespace) -> tuple[None, list[str], int]:
    with httpx.Client(base_url=args.url, headers={"Authorization": f"Token {args.token}"}, timeout=60) as http:
        project = http.post("/api/projects/", json={"name": f"Bench {time.strftime('%H:%M:%S')}",
                                                    "classes": CLASSES}).json()
        layer = http.get("/api/layers/", params={"project": project["id"]}).json()["results"][0]["id"]
    return None, [args.token], layer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--listeners", type=int, default=10)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of editing")
    parser.add_argument("--rate", type=float, default=1.0, help="edits per second per client")
    parser.add_argument("--web-processes", type=int, default=1,
                        help="web (daphne) processes of the own server; clients are spread over them")
    parser.add_argument("--url", help="a running server (else one is started)")
    parser.add_argument("--token", help="API token for --url")
    parser.add_argument("--database-url", help="own server on a fresh <db>_bench PostgreSQL database next to this "
                                               "one (default: SQLite in the temp dir)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    args = parser.parse_args()
    if args.url and not args.token:
        parser.error("--url needs --token")
    server, tokens, layer = setup_existing(args) if args.url else setup_own_server(args)
    try:
        urls, pids = ([args.url], []) if server is None else start_more_web(server, args.web_processes)
        result = asyncio.run(run(urls, tokens, layer, args, pids))
        if server is not None and result["error_count"]:
            log = (server.data_dir / "daphne.log").read_text(errors="replace")
            errors = [line for line in log.splitlines() if "Error" in line or "Traceback" in line]
            first = log.find("Traceback")
            print("--- server errors ---\n" + "\n".join(errors[:10]) + "\n" + (log[first:first + 4000] if first >= 0 else ""),
                  file=sys.stderr)
    finally:
        if server is not None:
            server.__exit__(None, None, None)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['clients']} clients x {args.rate}/s for {result['duration_s']} s, {result['listeners']} "
              f"listeners, {result['web_processes']} web process(es): {result['writes']} writes ({result['writes_per_s']}/s; {result['by_kind']}), "
              f"{result['conflicts_409']} answered 409")
        w, f, e = result["write_ms"], result["fanout_ms"], result["end_to_end_ms"]
        print(f"write      p50 {w['p50']} ms  p95 {w['p95']} ms  p99 {w['p99']} ms   (goal p95 <= 50 ms)")
        print(f"fan-out    p50 {f['p50']} ms  p95 {f['p95']} ms  p99 {f['p99']} ms   (commit -> listener, "
              f"{f['deliveries']} deliveries; goal p95 <= 100 ms)")
        print(f"end to end p50 {e['p50']} ms  p95 {e['p95']} ms  p99 {e['p99']} ms   (request sent -> listener)")
        c = result["cpu_s"]
        print(f"cpu        server {c['server']} s ({c['server_ms_per_write']} ms per write), bench clients {c['bench']} s; "
              f"load average {c['load_avg_1m']:.1f} on {c['cpus']} cpus")
        print(f"lost updates {result['lost_updates']} (must be 0), events missed {result['events_missed']}, "
              f"errors {result['error_count']} {result['errors']}")
    return 0 if result["lost_updates"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
