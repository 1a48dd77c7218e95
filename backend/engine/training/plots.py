"""ModelCharacteristics/*.png: loss graph, LR finder curve and sample results (matplotlib Agg)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from backend.engine.nets.catalog import OBJECT_CLASSIFICATION, PIXEL_CLASSIFICATION  # noqa: E402
from backend.engine.training.config import EpochReport  # noqa: E402
from backend.engine.training.lr_finder import LrFinderResult  # noqa: E402
from backend.engine.training.tasks import Example  # noqa: E402

SHOW_SCORE = 0.5  # predictions drawn in show_results.png


def _save(fig: Figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def loss_graph(history: Sequence[EpochReport], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = [r.epoch for r in history]
    ax.plot(epochs, [r.train_loss for r in history], marker="o", label="train")
    valid = [(r.epoch, r.valid_loss) for r in history if r.valid_loss is not None]
    if valid:
        ax.plot(*zip(*valid), marker="o", label="validation")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    _save(fig, path)


def lr_finder_plot(result: LrFinderResult, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(result.lrs, result.losses)
    ax.axvline(result.suggestion, color="red", linestyle="--", label=f"chosen {result.suggestion:.1e}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss (smoothed)")
    ax.legend()
    ax.grid(alpha=0.3)
    _save(fig, path)


def _display(image: torch.Tensor) -> np.ndarray:
    """Model input [C,H,W] -> RGB or grey float image 0..1, stretched per band (2-98 %)."""
    x = image.float().numpy()
    x = x[:3] if x.shape[0] >= 3 else x[:1]
    out = np.empty_like(x)
    for i, band in enumerate(x):
        lo, hi = np.percentile(band, (2, 98))
        out[i] = np.clip((band - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    return out[0] if out.shape[0] == 1 else out.transpose(1, 2, 0)


def _colors(count: int, class_colors: Sequence[tuple[int, int, int]] | None) -> list[Any]:
    """Index 0 (background) first, then one color per class (the class's own when known)."""
    cmap = plt.get_cmap("tab10")
    if class_colors is not None and len(class_colors) == count:
        return [(0, 0, 0, 1)] + [tuple(v / 255 for v in c) + (1.0,) for c in class_colors]
    return [cmap(i % 10) for i in range(count + 1)]


def _boxes(ax: Any, boxes: Any, labels: Any, color: Any, names: Sequence[str]) -> None:
    for (x0, y0, x1, y1), label in zip(np.asarray(boxes).tolist(), np.asarray(labels).tolist()):
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=color, linewidth=1.2))
        if len(names) > 1 and 0 < label <= len(names):
            ax.text(x0, y0, names[label - 1], color=color, fontsize=6, va="bottom")


def show_results(
    examples: Sequence[Example],
    family: str,
    class_names: Sequence[str],
    path: Path,
    class_colors: Sequence[tuple[int, int, int]] | None = None,
) -> None:
    """Ground truth (left) against prediction (right) for a few validation chips."""
    rows = max(len(examples), 1)
    fig, axes = plt.subplots(rows, 2, figsize=(6, 3 * rows), squeeze=False)
    axes[0][0].set_title("ground truth", fontsize=9)
    axes[0][1].set_title("prediction", fontsize=9)
    colors = _colors(len(class_names), class_colors)
    for row, ex in zip(axes, examples):
        image = _display(ex.image)
        for ax in row:
            ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
            ax.axis("off")
        if family == PIXEL_CLASSIFICATION:
            cmap = matplotlib.colors.ListedColormap([(0, 0, 0, 0)] + colors[1:])
            n = len(class_names) + 1
            row[0].imshow(ex.target.numpy(), cmap=cmap, vmin=0, vmax=n - 1, alpha=0.5, interpolation="nearest")
            row[1].imshow(ex.prediction.numpy(), cmap=cmap, vmin=0, vmax=n - 1, alpha=0.5, interpolation="nearest")
        elif family == OBJECT_CLASSIFICATION:
            row[0].set_xlabel(class_names[int(ex.target)])
            row[0].set_title(class_names[int(ex.target)], fontsize=8)
            row[1].set_title(class_names[int(ex.prediction)], fontsize=8)
        else:
            _boxes(row[0], ex.target["boxes"], ex.target["labels"], "lime", class_names)
            keep = ex.prediction.scores >= SHOW_SCORE
            _boxes(row[1], ex.prediction.boxes[keep], ex.prediction.labels[keep], "red", class_names)
            if ex.prediction.masks is not None and keep.any():
                overlay = ex.prediction.masks[keep].any(0)
                row[1].imshow(np.ma.masked_where(~overlay, overlay), cmap="autumn", alpha=0.4)
    if not examples:
        axes[0][0].text(0.5, 0.5, "no validation chips", ha="center")
    _save(fig, path)
