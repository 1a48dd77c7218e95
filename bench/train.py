"""Benchmark: one epoch through `train()` against a bare torch loop (same model, data, batch).

    .venv/bin/python bench/train.py [--device cpu|cuda] [--model FasterRCNN]
        [--backbone mobilenet_v3_large] [--chip 128] [--batch-size 4] [--workers 0] [--repeat 3]

The dataset is fixed: PASCAL VOC chips cut from tests/data/OSBS_029.tif and SOAP_061.tif with
their real tree boxes (written under bench/out/). Both runs train one epoch on the same train
split and then run the validation split through the model in eval mode; `train()` additionally
augments, reports progress, computes validation loss and AP, keeps the best checkpoint and
writes the package. Prints times, images/s and the ratio train()/bare (goal <= 1.15).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.engine.chips import reader  # noqa: E402
from backend.engine.nets import build_model  # noqa: E402
from backend.engine.training import EpochReport, TrainConfig, train  # noqa: E402
from backend.engine.training.data import split_indices  # noqa: E402
from tests.engine.training.exports import write_export  # noqa: E402

OUT = ROOT / "bench" / "out" / "train"


def dataset(chip: int) -> Any:
    folder = OUT / f"data{chip}"
    if not (folder / "map.txt").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        merged = folder
        write_export(merged, "PASCAL_VOC_rectangles", raster="OSBS_029", chip=chip, stride=chip // 2,
                     classes=[(1, "Tree", [0, 160, 0])])
        # SOAP chips continue the numbering; its Dead/Alive boxes are all class 1 ("Tree") here.
        extra = OUT / f"soap{chip}"
        shutil.rmtree(extra, ignore_errors=True)
        write_export(extra, "PASCAL_VOC_rectangles", raster="SOAP_061", chip=chip, stride=chip // 2)
        offset = len(list((merged / "images").iterdir()))
        for image in sorted((extra / "images").iterdir()):
            stem = f"{int(image.stem) + offset:09d}"
            image.rename(merged / "images" / f"{stem}.tif")
            text = (extra / "labels" / f"{image.stem}.xml").read_text().replace("<name>2</name>", "<name>1</name>")
            (merged / "labels" / f"{stem}.xml").write_text(text)
        shutil.rmtree(extra)
    return reader.read_training_folder(folder)


class BareDataset(torch.utils.data.Dataset[Any]):
    """Chips and boxes as a plain script would read them: x/255, no augmentation."""

    def __init__(self, samples: list[Any], classes: Any) -> None:
        self.samples, self.classes = samples, classes

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> Any:
        sample = self.samples[i]
        image = torch.from_numpy(reader.read_chip(sample).astype(np.float32) / 255.0)
        boxes = [(b.xmin, b.ymin, b.xmax, b.ymax) for b in reader.read_boxes(sample, "PASCAL_VOC_rectangles", self.classes)
                 if b.xmax - b.xmin >= 1 and b.ymax - b.ymin >= 1]
        return image, {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                       "labels": torch.ones(len(boxes), dtype=torch.int64)}


def bare_epoch(folder: Any, args: argparse.Namespace, device: torch.device) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one epoch plus the validation pass."""
    train_idx, valid_idx = split_indices(len(folder.samples), 10, 42)
    cuda = device.type == "cuda"
    loader_args: dict[str, Any] = {"batch_size": args.batch_size, "collate_fn": lambda b: tuple(zip(*b)),
                                   "num_workers": args.workers, "pin_memory": cuda}
    train_loader = torch.utils.data.DataLoader(BareDataset([folder.samples[i] for i in train_idx], folder.classes),
                                               shuffle=True, **loader_args)
    valid_loader = torch.utils.data.DataLoader(BareDataset([folder.samples[i] for i in valid_idx], folder.classes),
                                               **loader_args)
    torch.manual_seed(42)
    model = build_model(args.model, args.backbone, 1, 3, args.chip).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    scaler = torch.amp.GradScaler("cuda", enabled=cuda)
    start, cpu = time.perf_counter(), time.process_time()
    model.train()
    for images, targets in train_loader:
        images = [im.to(device, non_blocking=cuda) for im in images]
        targets = [{k: v.to(device, non_blocking=cuda) for k, v in t.items()} for t in targets]
        with torch.autocast("cuda", dtype=torch.float16, enabled=cuda):
            loss = sum(model(images, targets).values())
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    model.eval()
    with torch.no_grad():
        for images, _ in valid_loader:
            with torch.autocast("cuda", dtype=torch.float16, enabled=cuda):
                model([im.to(device) for im in images])
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--model", default="FasterRCNN")
    parser.add_argument("--backbone", default="mobilenet_v3_large")
    parser.add_argument("--chip", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each; medians are printed")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    folder = dataset(args.chip)
    train_count = len(split_indices(len(folder.samples), 10, 42)[0])
    print(f"{len(folder.samples)} chips of {args.chip} px ({train_count} train), {args.model} "
          f"{args.backbone}, batch {args.batch_size}, {args.device}, {torch.get_num_threads()} threads")

    bare_epoch(folder, args, device)  # warm-up (allocator, kernels, file cache)
    bares, bare_cpus, epochs, totals, total_cpus = [], [], [], [], []
    for _ in range(args.repeat):  # interleaved, so a busy machine slows both alike
        wall, cpu = bare_epoch(folder, args, device)
        bares.append(wall)
        bare_cpus.append(cpu)
        reports: list[EpochReport] = []
        out = OUT / "run"
        shutil.rmtree(out, ignore_errors=True)
        config = TrainConfig(model_type=args.model, backbone=args.backbone, out_name="bench", max_epochs=1,
                             batch_size=args.batch_size, learning_rate=1e-3, validation_percentage=10,
                             device=args.device, num_workers=args.workers)
        start, cpu_start = time.perf_counter(), time.process_time()
        train(config, folder, out, on_epoch=reports.append)
        totals.append(time.perf_counter() - start)
        total_cpus.append(time.process_time() - cpu_start)
        epochs.append(reports[0].seconds)
    bare, bare_cpu, epoch, total, total_cpu = (
        statistics.median(v) for v in (bares, bare_cpus, epochs, totals, total_cpus)
    )
    print(f"medians of {args.repeat} interleaved run(s); wall s: bare {[round(v, 2) for v in bares]}, "
          f"train() epoch {[round(v, 2) for v in epochs]}")
    print(f"bare loop          {bare:8.2f} s  {train_count / bare:7.2f} images/s   CPU {bare_cpu:8.2f} s")
    print(f"train() epoch      {epoch:8.2f} s  {train_count / epoch:7.2f} images/s   ratio {epoch / bare:.3f}")
    print(f"train() whole call {total:8.2f} s  (set-up, epoch, validation metrics, package)   "
          f"ratio {total / bare:.3f}   CPU {total_cpu:8.2f} s  CPU ratio {total_cpu / bare_cpu:.3f}")

if __name__ == "__main__":
    main()
