"""Fast writing of many same-shaped GeoTIFF chips.

Opening a GDAL dataset per chip costs more than the chip's pixels (driver set-up, SRS to
GeoKeys). Chips of one raster differ only in their pixels and their tie point, so the first chip
of each shape is written by GDAL and, if its file is a plain uncompressed single-image TIFF whose
pixel bytes and tie point are where we expect, later chips are that file with the pixel bytes
and the tie point replaced: byte for byte what GDAL would write. Anything else (rotated chips,
unexpected layouts) is written by GDAL.
"""
from __future__ import annotations

import struct
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8,
               16: 8}
_COMPRESSION, _STRIP_OFFSETS, _STRIP_COUNTS, _PLANAR = 259, 273, 279, 284
_TIEPOINT, _TRANSFORMATION = 33922, 34264


def write_geotiff(path: Path, data: np.ndarray, transform: Affine, crs_wkt: str,
                  nodata: float | None, compress: str | None) -> None:
    """A GeoTIFF written by GDAL (default layout; optional compression).

    Runs in writer threads, so it must not touch the warnings filters (catch_warnings is not
    thread-safe and would undo filters set by the reading thread).
    """
    options = {"compress": compress} if compress else {}
    with rasterio.open(
        path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1],
        count=data.shape[0], dtype=data.dtype, crs=crs_wkt, transform=transform,
        nodata=nodata, **options,
    ) as dst:
        dst.write(data)


@dataclass(frozen=True)
class _Template:
    data: bytes
    pixel_offset: int
    pixel_size: int
    tiepoint_offset: int  # byte offset of the tie point's (X, Y) doubles

    def write(self, path: Path, pixels: bytes, transform: Affine) -> None:
        buffer = bytearray(self.data)
        buffer[self.pixel_offset:self.pixel_offset + self.pixel_size] = pixels
        struct.pack_into("<dd", buffer, self.tiepoint_offset, transform.c, transform.f)
        path.write_bytes(buffer)


def pixel_bytes(data: np.ndarray) -> bytes:
    """Pixel-interleaved little-endian bytes, as GDAL stores a contiguous TIFF."""
    interleaved = np.ascontiguousarray(data.transpose(1, 2, 0))
    return interleaved.astype(interleaved.dtype.newbyteorder("<"), copy=False).tobytes()


class TiffTemplates:
    """Writes uncompressed GeoTIFF chips of one CRS/nodata; safe to share between threads."""

    def __init__(self, crs_wkt: str, nodata: float | None) -> None:
        self.crs_wkt = crs_wkt
        self.nodata = nodata
        self._templates: dict[tuple[object, ...], _Template | None] = {}
        self._lock = threading.Lock()

    def write(self, path: Path, data: np.ndarray, transform: Affine) -> None:
        if transform.b or transform.d:  # rotated: GDAL stores a full transformation matrix
            write_geotiff(path, data, transform, self.crs_wkt, self.nodata, compress=None)
            return
        key = (data.shape, data.dtype.str, transform.a, transform.e)
        with self._lock:
            known = key in self._templates
            template = self._templates.get(key)
        if template is not None:
            template.write(path, pixel_bytes(data), transform)
            return
        write_geotiff(path, data, transform, self.crs_wkt, self.nodata, compress=None)
        if not known:
            found = parse_template(path.read_bytes(), data, transform)
            with self._lock:
                self._templates.setdefault(key, found)


def parse_template(tiff: bytes, data: np.ndarray, transform: Affine) -> _Template | None:
    """The template of a GDAL-written chip, or None if its layout is not the simple one."""
    if len(tiff) < 8 or tiff[:4] != b"II*\x00":
        return None
    (ifd,) = struct.unpack_from("<I", tiff, 4)
    tags = _read_ifd(tiff, ifd)
    if tags is None or _TRANSFORMATION in tags or _TIEPOINT not in tags:
        return None
    if _values(tiff, tags.get(_COMPRESSION)) != [1]:
        return None
    if data.shape[0] > 1 and _values(tiff, tags.get(_PLANAR)) not in ([1], None):
        return None
    offsets = _values(tiff, tags.get(_STRIP_OFFSETS))
    counts = _values(tiff, tags.get(_STRIP_COUNTS))
    if not offsets or not counts or len(offsets) != len(counts):
        return None
    if any(offsets[i] + counts[i] != offsets[i + 1] for i in range(len(offsets) - 1)):
        return None
    expected = pixel_bytes(data)
    start, size = int(offsets[0]), int(sum(counts))
    if size != len(expected) or tiff[start:start + size] != expected:
        return None
    kind, count, where = tags[_TIEPOINT]
    if kind != 12 or count != 6:
        return None
    (pointer,) = struct.unpack_from("<I", tiff, where)
    tie = struct.unpack_from("<6d", tiff, pointer)
    if (tie[0], tie[1], tie[3], tie[4]) != (0.0, 0.0, transform.c, transform.f):
        return None
    return _Template(tiff, start, size, pointer + 24)


def _read_ifd(tiff: bytes, offset: int) -> dict[int, tuple[int, int, int]] | None:
    """tag -> (type, count, position of the value/offset field); None for several images."""
    if offset + 2 > len(tiff):
        return None
    (entries,) = struct.unpack_from("<H", tiff, offset)
    end = offset + 2 + 12 * entries
    if end + 4 > len(tiff) or struct.unpack_from("<I", tiff, end)[0] != 0:
        return None
    tags = {}
    for i in range(entries):
        position = offset + 2 + 12 * i
        tag, kind, count = struct.unpack_from("<HHI", tiff, position)
        tags[tag] = (kind, count, position + 8)
    return tags


def _values(tiff: bytes, entry: tuple[int, int, int] | None) -> list[int] | None:
    """Integer values (SHORT or LONG) of a tag, inline or at its offset."""
    if entry is None:
        return None
    kind, count, where = entry
    code = {3: "H", 4: "I", 16: "Q"}.get(kind)
    if code is None:
        return None
    if _TYPE_SIZES[kind] * count > 4:
        (where,) = struct.unpack_from("<I", tiff, where)
    return list(struct.unpack_from(f"<{count}{code}", tiff, where))
