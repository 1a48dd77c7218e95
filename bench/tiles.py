"""Tile serving benchmark: the same >= 200 tiles of a real COG rendered three ways in one run.

1. bare rio-tiler in-process (open, tile, rescale, render PNG) — the floor;
2. Rasterlab over HTTP with one keep-alive client, sequential;
3. Rasterlab over HTTP, 8 concurrent keep-alive clients.
Prints tiles/s, p50 and p95 per way and the ratio to bare rio-tiler. Goal: HTTP p50 <= 1.3x bare.

    .venv/bin/python bench/tiles.py [--raster tests/data/cog.tif] [--tiles 240]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import morecantile  # noqa: E402
from rio_tiler.io import Reader  # noqa: E402

from bench._server import ROOT, BenchServer  # noqa: E402

TMS = morecantile.tms.get("WebMercatorQuad")


def tile_set(cog: Path, wanted: int) -> list[tuple[int, int, int]]:
    with Reader(str(cog), tms=TMS) as src:
        west, south, east, north = src.get_geographic_bounds("EPSG:4326")
        maxzoom = src.maxzoom
    tiles: list[tuple[int, int, int]] = []
    for z in range(max(0, maxzoom - 6), maxzoom + 3):
        tiles += [(t.z, t.x, t.y) for t in TMS.tiles(west, south, east, north, [z])]
        if len(tiles) >= wanted:
            break
    return tiles[:wanted]


def summary(name: str, latencies: list[float], wall: float, floor_p50: float | None) -> None:
    q = statistics.quantiles(latencies, n=20)
    p50, p95 = statistics.median(latencies), q[18]
    ratio = f"{p50 / floor_p50:5.2f}x" if floor_p50 else "  1.00x"
    print(f"{name:<34} {len(latencies) / wall:8.1f} tiles/s   p50 {p50 * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms   p50 vs bare {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raster", default=str(ROOT / "tests" / "data" / "cog.tif"))
    parser.add_argument("--tiles", type=int, default=240)
    args = parser.parse_args()

    with BenchServer(worker=True) as server, server.client() as http:
        project = http.post("/api/projects/", json={"name": "bench"}).json()["id"]
        with open(args.raster, "rb") as fh:
            raster = http.post("/api/rasters/", data={"project": project}, files={"file": fh}).json()
        while (body := http.get(f"/api/rasters/{raster['id']}/").json())["status"] == "processing":
            time.sleep(0.2)
        assert body["status"] == "ready", body
        cog = server.data_dir / "rasters" / str(raster["id"]) / "cog.tif"
        tiles = tile_set(cog, args.tiles)
        stats = body["statistics"]
        bands = (1, 2, 3) if body["count"] >= 3 else (1,)
        rescale = tuple((stats[str(b)]["p2"], stats[str(b)]["p98"]) for b in bands)
        print(f"raster {args.raster}: {body['width']}x{body['height']} x{body['count']} {body['dtype']}, "
              f"{len(tiles)} tiles, zooms {tiles[0][0]}..{tiles[-1][0]}")

        def bare(tile: tuple[int, int, int]) -> float:
            t0 = time.perf_counter()
            with Reader(str(cog), tms=TMS) as src:
                try:
                    img = src.tile(tile[1], tile[2], tile[0], indexes=bands)
                except Exception:  # noqa: BLE001 - outside: counted like the HTTP 404
                    return time.perf_counter() - t0
            img.rescale(in_range=rescale)
            img.render(img_format="PNG")
            return time.perf_counter() - t0

        for tile in tiles[:20]:  # warm caches the same way for every method
            bare(tile)
        t0 = time.perf_counter()
        bare_lat = [bare(t) for t in tiles]
        bare_wall = time.perf_counter() - t0
        floor = statistics.median(bare_lat)

        def over_http(client, tile: tuple[int, int, int]) -> float:
            t0 = time.perf_counter()
            response = client.get(f"/api/rasters/{raster['id']}/tiles/{tile[0]}/{tile[1]}/{tile[2]}.png")
            assert response.status_code in (200, 404), response.text
            return time.perf_counter() - t0

        for tile in tiles[:20]:
            over_http(http, tile)
        t0 = time.perf_counter()
        seq_lat = [over_http(http, t) for t in tiles]
        seq_wall = time.perf_counter() - t0

        clients = [server.client() for _ in range(8)]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            conc_lat = list(pool.map(lambda it: over_http(clients[it[0] % 8], it[1]), enumerate(tiles)))
        conc_wall = time.perf_counter() - t0
        for c in clients:
            c.close()

        summary("bare rio-tiler (in-process)", bare_lat, bare_wall, None)
        summary("Rasterlab HTTP, sequential", seq_lat, seq_wall, floor)
        summary("Rasterlab HTTP, 8 concurrent", conc_lat, conc_wall, floor)


if __name__ == "__main__":
    main()
