"""Benchmark of the inference engine: end-to-end time vs pure model time, and peak memory.

Runs each scenario in a fresh subprocess (so ru_maxrss is that scenario's peak) over
tests/data/OSBS_029.tif (400 x 400) and a large synthetic raster written tile by tile
(default 8000 x 8000 x 3, uint8, deflate), and prints for each:

    end-to-end seconds (plan + read + model + merge rules + write + merge/NMS or COG),
    forward seconds (sum of predictor.prepare + detect/segment calls only),
    overhead = end-to-end - forward, chips per second,
    peak RSS and its growth over the RSS right after loading the predictor.

The default predictor is a fake (threshold + connected components on the chip) so the figures
show the engine's own cost; --real adds a random-weight SSD (mobilenet_v3_large) from
backend.engine.nets on OSBS_029 (CPU). Usage (from the repository root):

    [GDAL_CACHEMAX=64] .venv/bin/python bench/detect_engine.py [--large 8000] [--chip 256]
                                             [--padding 64] [--batch 16] [--real] [--keep]

Peak RSS growth is bounded by one part (part_size 4096 px) plus GDAL's block cache, so it should
be the same for the half-size and full-size synthetic rasters; GDAL_CACHEMAX caps the cache.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out" / "detect_engine"
SMALL = ROOT / "tests" / "data" / "OSBS_029.tif"


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


# ---------------------------------------------------------------- child side


@dataclass
class Timed:
    """Wraps a predictor and sums the time spent in its model calls."""

    inner: Any
    seconds: float = 0.0
    calls: int = 0
    chips: int = 0
    _start: float = field(default=0.0, repr=False)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def prepare(self, chips: Any) -> Any:
        self._start = time.perf_counter()
        return self.inner.prepare(chips)

    def _done(self, n: int) -> None:
        self.seconds += time.perf_counter() - self._start
        self.calls += 1
        self.chips += n

    def detect(self, batch: Any, threshold: float, nms_overlap: float) -> Any:
        out = self.inner.detect(batch, threshold, nms_overlap)
        self._done(len(batch))
        return out

    def segment(self, batch: Any) -> Any:
        out = self.inner.segment(batch)
        self._done(len(batch))
        return out


def fake_predictor(family: str, chip: int) -> Any:
    import numpy as np
    import torch
    from rasterio.features import shapes
    from shapely.geometry import shape

    @dataclass(frozen=True)
    class Cls:
        value: int
        name: str
        color: tuple[int, int, int] | None = (0, 200, 0)

    @dataclass(frozen=True)
    class Det:
        boxes: Any
        scores: Any
        labels: Any
        masks: Any = None

    class Fake:
        def __init__(self) -> None:
            self.family = family
            self.chip_size = chip
            self.extract_bands = (0, 1, 2)
            self.classes = (Cls(1, "Tree"),)
            self.device = torch.device("cpu")

        def prepare(self, chips: Any) -> Any:
            return torch.from_numpy(chips)

        def detect(self, batch: Any, threshold: float, nms_overlap: float) -> list[Det]:
            out = []
            for x in batch.numpy():
                bright = (x[0] > 128).astype(np.uint8)
                boxes = [shape(g).bounds for g, v in shapes(bright, mask=bright.astype(bool)) if v]
                n = len(boxes)
                out.append(Det(np.array(boxes, np.float32).reshape(n, 4), np.full(n, 0.9, np.float32),
                               np.ones(n, np.int64)))
            return out

        def segment(self, batch: Any) -> Any:
            fg = (batch.numpy()[:, 0] > 128).astype(np.float32)
            return np.stack([1 - fg, fg], axis=1)

    return Fake()


def real_predictor(chip: int) -> Any:
    import torch

    from backend.engine.dlpk.emd_types import EmdClass
    from backend.engine.nets.build import build_model
    from backend.engine.nets.catalog import arch_spec
    from backend.engine.nets.normalization import InputScaling
    from backend.engine.nets.predictor import TorchPredictor

    torch.manual_seed(0)
    model = build_model("SingleShotDetector", "mobilenet_v3_large", 1, 3, chip, pretrained_backbone=False)
    return TorchPredictor(model.eval(), arch_spec("SingleShotDetector"), InputScaling(), chip, (0, 1, 2),
                          (EmdClass(1, "Tree"),), torch.device("cpu"))


def child(spec: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(int(spec["threads"]))
    from backend.engine.inference.classify_pixels import ClassifyPixelsArgs
    from backend.engine.inference.detect import DetectArgs
    from backend.engine.inference.run import classify_pixels, detect_objects

    chip, pad, batch = spec["chip"], spec["padding"], spec["batch"]
    if spec["predictor"] == "real":
        inner = real_predictor(chip)
    else:
        inner = fake_predictor("pixel_classification" if spec["task"] == "classify" else "object_detection", chip)
    predictor = Timed(inner)
    base = rss_mib()
    out_dir = Path(spec["out_dir"])
    t0 = time.perf_counter()
    result: dict[str, Any] = {}
    if spec["task"] == "detect":
        merged = detect_objects(spec["raster"], predictor, DetectArgs(padding=pad, batch_size=batch, threshold=0.3),
                                out_dir / f"{spec['name']}.ndjson", run_nms=True, max_overlap_ratio=0.1)
        result["features"] = merged.features_out
        result["features_before_nms"] = merged.features_in
    else:
        parts = classify_pixels(spec["raster"], predictor, ClassifyPixelsArgs(padding=pad, batch_size=batch),
                                out_dir / f"{spec['name']}.tif")
        result["skipped_chips"] = sum(p.skipped for p in parts)
    e2e = time.perf_counter() - t0
    result.update(
        name=spec["name"], e2e_s=e2e, forward_s=predictor.seconds, calls=predictor.calls,
        chips=predictor.chips, rss_base_mib=base, rss_peak_mib=rss_mib(),
    )
    return result


# ---------------------------------------------------------------- parent side


def write_large(path: Path, size: int) -> Path:
    """A tiled RGB raster with bright 'trees' every ~40 px, written one 512 block at a time."""
    import numpy as np
    import rasterio
    from affine import Affine
    from rasterio.windows import Window

    if path.exists():
        with rasterio.open(path) as src:
            if src.width == size:
                return path
    profile = {
        "driver": "GTiff", "width": size, "height": size, "count": 3, "dtype": "uint8",
        "crs": "EPSG:32617", "transform": Affine(0.1, 0, 404000.0, 0, -0.1, 3286000.0),
        "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate",
    }
    rng = np.random.default_rng(0)
    with rasterio.open(path, "w", **profile) as dst:
        for r in range(0, size, 512):
            for c in range(0, size, 512):
                h, w = min(512, size - r), min(512, size - c)
                block = rng.integers(20, 90, (3, h, w), dtype=np.uint8)
                for y in range(8, h - 20, 40):
                    for x in range(8, w - 20, 40):
                        s = int(rng.integers(6, 18))
                        block[0, y : y + s, x : x + s] = 220
                dst.write(block, window=Window(c, r, w, h))
    return path


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True, cwd=ROOT
    )
    if proc.returncode != 0:
        raise SystemExit(f"{spec['name']} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--large", type=int, default=8000, help="side of the synthetic raster (px)")
    parser.add_argument("--chip", type=int, default=256)
    parser.add_argument("--padding", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--real", action="store_true", help="also time a random-weight SSD on OSBS_029")
    parser.add_argument("--keep", action="store_true", help="keep outputs in bench/out/detect_engine")
    a = parser.parse_args()
    if a.child:
        print(json.dumps(child(json.loads(a.child))))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    large = write_large(OUT / f"synthetic_{a.large}.tif", a.large)
    print(f"large raster {large.name}: {a.large} x {a.large} x 3 ({time.perf_counter() - t:.1f} s to write/check)")
    common = {"chip": a.chip, "padding": a.padding, "batch": a.batch, "threads": a.threads, "out_dir": str(OUT)}
    half = write_large(OUT / f"synthetic_{a.large // 2}.tif", a.large // 2)
    specs = []
    for task in ("detect", "classify"):
        for label, raster in (("small", SMALL), (f"{a.large // 2}px", half), (f"{a.large}px", large)):
            specs.append({"name": f"{task}_{label}_fake", "raster": str(raster), "task": task, "predictor": "fake"})
    if a.real:
        specs.append({"name": "detect_small_ssd", "raster": str(SMALL), "task": "detect", "predictor": "real"})
    cache = os.environ.get("GDAL_CACHEMAX", "GDAL default: 5% of RAM")
    print(f"chip {a.chip}, padding {a.padding}, batch {a.batch}, torch threads {a.threads}, "
          f"GDAL_CACHEMAX {cache}\n")
    header = f"{'scenario':26} {'chips':>6} {'e2e s':>8} {'fwd s':>8} {'ovh s':>7} {'chips/s':>8} {'rss MiB':>8} {'+MiB':>6}  result"
    print(header)
    print("-" * len(header))
    for spec in specs:
        r = run_child({**common, **spec})
        extra = (f"{r['features']} features ({r['features_before_nms']} before NMS)" if "features" in r
                 else f"{r['skipped_chips']} empty chips skipped")
        print(f"{r['name']:26} {r['chips']:6d} {r['e2e_s']:8.2f} {r['forward_s']:8.2f} "
              f"{r['e2e_s'] - r['forward_s']:7.2f} {r['chips'] / r['e2e_s']:8.1f} {r['rss_peak_mib']:8.0f} "
              f"{r['rss_peak_mib'] - r['rss_base_mib']:6.0f}  {extra}")
    if not a.keep:
        for f in OUT.glob("detect_*"):
            f.unlink()
        for f in OUT.glob("classify_*"):
            f.unlink()


if __name__ == "__main__":
    main()
