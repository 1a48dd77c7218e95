"""A sample chip as PNG with its labels drawn (boxes outlined, masks tinted, tile class framed)."""
from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from backend.api.exceptions import NotFound
from backend.engine.chips import (
    ClassDef, Sample, read_boxes, read_chip, read_class_mask, read_instance_masks, read_tile_label,
)

from ..models import Dataset
from .services import sample_picks, training_folder

BOX_FORMATS = ("PASCAL_VOC_rectangles", "KITTI_rectangles", "COCO")
MIN_SIDE = 256  # small chips are enlarged (nearest) so that labels stay readable


def _to_rgb(chip: np.ndarray) -> np.ndarray:
    """[bands, H, W] of any dtype -> [H, W, 3] uint8 (first three bands; 2-98 % stretch unless 8-bit)."""
    bands = chip[:3] if chip.shape[0] >= 3 else np.repeat(chip[:1], 3, axis=0)
    if chip.dtype == np.uint8:
        return np.ascontiguousarray(bands.transpose(1, 2, 0))
    out = np.zeros(bands.shape, dtype=np.uint8)
    for i, band in enumerate(bands.astype(np.float64)):
        finite = band[np.isfinite(band)]
        if finite.size == 0:
            continue
        low, high = np.percentile(finite, (2, 98))
        scale = 255.0 / (high - low) if high > low else 0.0
        out[i] = np.clip((np.nan_to_num(band, nan=low) - low) * scale, 0, 255).astype(np.uint8)
    return out.transpose(1, 2, 0)


def _tint(rgb: np.ndarray, mask: np.ndarray, color: tuple[int, int, int], alpha: float = 0.45) -> None:
    rgb[mask] = (rgb[mask] * (1 - alpha) + np.array(color) * alpha).astype(np.uint8)


def draw_sample(sample: Sample, fmt: str, classes: tuple[ClassDef, ...]) -> Image.Image:
    colors: dict[int, tuple[int, int, int]] = {c.value: tuple(c.color) for c in classes}  # type: ignore[misc]
    rgb = _to_rgb(read_chip(sample))
    frame: tuple[int, int, int] | None = None
    if fmt == "Classified_Tiles":
        mask = read_class_mask(sample)
        for value in np.unique(mask):
            if value:
                _tint(rgb, mask == value, colors.get(int(value), (255, 0, 0)))
    elif fmt == "RCNN_Masks":
        masks, values = read_instance_masks(sample)
        for mask, value in zip(masks, values):
            _tint(rgb, mask, colors.get(int(value), (255, 0, 0)))
    elif fmt == "Labeled_Tiles":
        frame = colors.get(read_tile_label(sample, classes), (255, 0, 0))
    image = Image.fromarray(rgb, "RGB")
    scale = max(1, -(-MIN_SIDE // max(image.size)))
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    draw = ImageDraw.Draw(image)
    if fmt in BOX_FORMATS:
        for box in read_boxes(sample, fmt, classes):
            draw.rectangle([box.xmin * scale, box.ymin * scale, box.xmax * scale - 1, box.ymax * scale - 1],
                           outline=colors.get(box.class_value, (255, 0, 0)), width=2)
    if frame is not None:
        draw.rectangle([0, 0, image.width - 1, image.height - 1], outline=frame, width=4)
    return image


def preview_png(dataset: Dataset, index: int) -> bytes:
    folder = training_folder(dataset)
    picks = sample_picks(folder)
    if not 0 <= index < len(picks):
        raise NotFound(f"No sample {index}: this dataset has {len(picks)} sample previews (0..{len(picks) - 1}).")
    classes: Any = folder.classes or tuple(
        ClassDef(c["value"], c["name"], tuple(c.get("color") or (255, 0, 0))) for c in dataset.classes)
    buffer = io.BytesIO()
    draw_sample(picks[index], folder.metadata_format, classes).save(buffer, "PNG")
    return buffer.getvalue()
