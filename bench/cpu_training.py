"""CPU training speed of the default detector (Faster R-CNN on EfficientNet-Lite0, 256 px chips,
batch 4): fp32 vs channels_last vs bf16 autocast vs torch.compile vs channels_last with the
sparse RoIAlign backward (fast_roi: what training uses), in CPU-seconds per image
(process time, so a busy machine inflates every variant alike), interleaved A/B rounds.

    .venv/bin/python bench/cpu_training.py [--steps 6] [--rounds 2]
        [--variants fp32,channels_last,fast_roi,bf16,compile]

Each variant runs the training step of the train_model job (loss, backward, clip, AdamW) on the
same synthetic batch of tree-crown-sized boxes; the first steps of each variant are warm-up
(compile pays its compile time there) and not counted.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.engine.nets import build_model  # noqa: E402
from backend.engine.nets.roi_pool_cpu import use_fast_roi_pools  # noqa: E402

CHIP, BATCH = 256, 4


def batch() -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
    g = torch.Generator().manual_seed(0)
    images = [torch.rand(3, CHIP, CHIP, generator=g) for _ in range(BATCH)]
    targets = []
    for _ in range(BATCH):
        xy = torch.rand(12, 2, generator=g) * (CHIP - 40)
        wh = 12 + torch.rand(12, 2, generator=g) * 28
        targets.append({"boxes": torch.cat([xy, xy + wh], 1), "labels": torch.ones(12, dtype=torch.int64)})
    return images, targets


def make(variant: str) -> tuple[nn.Module, Any, Any]:
    torch.manual_seed(0)
    model = build_model("FasterRCNN", "efficientnet_lite0", 1, 3, CHIP).train()
    if variant == "fast_roi":
        use_fast_roi_pools(model)
    if variant in ("channels_last", "fast_roi", "bf16", "compile"):
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    runner: Any = model
    if variant == "compile":
        runner = torch.compile(model, dynamic=True)
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if variant == "bf16" else contextlib.nullcontext
    return runner, optimizer, autocast


def step(runner: Any, optimizer: Any, autocast: Any, images: Any, targets: Any) -> float:
    with autocast():
        losses = runner(images, targets)
        loss = sum(losses.values())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], 10.0)
    optimizer.step()
    return float(loss.detach())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variants", default="fp32,channels_last,fast_roi,bf16,compile")
    args = parser.parse_args()
    images, targets = batch()
    variants = args.variants.split(",")
    built = {v: make(v) for v in variants}
    cpu: dict[str, list[float]] = {v: [] for v in variants}
    losses: dict[str, float] = {}
    for v in variants:  # warm-up (compile compiles here)
        started = time.monotonic()
        for _ in range(args.warmup):
            losses[v] = step(*built[v], images, targets)
        print(f"warm-up {v}: {time.monotonic() - started:.1f} s wall", flush=True)
    for r in range(args.rounds):
        for v in variants:
            t0 = time.process_time()
            for _ in range(args.steps):
                losses[v] = step(*built[v], images, targets)
            cpu[v].append((time.process_time() - t0) / (args.steps * BATCH))
    base = min(cpu["fp32"]) if "fp32" in cpu else None
    print(f"Faster R-CNN Lite0, {CHIP} px, batch {BATCH}, {torch.get_num_threads()} threads; CPU-s per image "
          f"(best of {args.rounds} rounds of {args.steps} steps)")
    for v in variants:
        best = min(cpu[v])
        ratio = f"  x{base / best:.2f} vs fp32" if base else ""
        print(f"  {v:14s} {best:.3f}{ratio}  last loss {losses[v]:.3f}")


if __name__ == "__main__":
    main()
