"""Reading chips from a raster (window by window) and writing georeferenced chip files."""
from __future__ import annotations

import math
import warnings
from pathlib import Path
from types import TracebackType
from xml.sax.saxutils import escape

import numpy as np
import rasterio
from affine import Affine
from PIL import Image
from rasterio.enums import MaskFlags, Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import DatasetReader
from rasterio.vrt import WarpedVRT
from rasterio.warp import reproject
from rasterio.windows import Window

from backend.engine.chips.fasttiff import TiffTemplates, write_geotiff
from backend.engine.chips.grid import ChipSpec, Grid, aligned_offset, covering_window, footprint_of
from backend.engine.errors import EngineInputError

CHIP_EXTENSIONS = {"TIFF": "tif", "PNG": "png", "JPEG": "jpg"}
WORLD_EXTENSIONS = {"PNG": "pgw", "JPEG": "jgw"}
# Band counts the 8-bit picture formats can hold.
PICTURE_BANDS = {"PNG": (1, 3, 4), "JPEG": (1, 3)}
JPEG_QUALITY = 90


class ChipReader:
    """Reads chips of one raster, on its own grid or resampled to ``cell_size`` (CRS units).

    Only the pixels under each chip are read, so memory does not grow with the raster. Pixels
    outside the raster are returned as 0 and marked invalid, as are nodata/masked pixels.
    """

    def __init__(self, path: Path, cell_size: float | None) -> None:
        try:
            self._src: DatasetReader = rasterio.open(path)
        except rasterio.RasterioIOError as exc:
            raise EngineInputError(f"cannot open raster {path.name}: {exc}") from exc
        src = self._src
        if src.crs is None:
            src.close()
            raise EngineInputError(f"raster {path.name} has no coordinate reference system")
        self._vrt: WarpedVRT | None = None
        self.native_res = (math.hypot(src.transform.a, src.transform.d),
                           math.hypot(src.transform.b, src.transform.e))
        self._ds: DatasetReader | WarpedVRT = src
        if cell_size is not None:
            self._vrt = _resampled(src, cell_size, self.native_res)
            self._ds = self._vrt
        ds = self._ds
        self.grid = Grid(ds.transform, ds.width, ds.height)
        self.count: int = src.count
        self.dtype = np.dtype(src.dtypes[0])
        self.nodata: float | None = src.nodata
        self.crs_wkt: str = src.crs.to_wkt()
        self.epsg: int | None = src.crs.to_epsg()
        self.cell_size = (abs(ds.transform.a), abs(ds.transform.e))
        self.band_names = tuple(_band_name(src, i) for i in range(src.count))
        flags = src.mask_flag_enums[0] if src.count else []
        self._dataset_mask = MaskFlags.per_dataset in flags or MaskFlags.alpha in flags
        if len(set(src.dtypes)) > 1:
            self.close()
            raise EngineInputError(f"raster {path.name} mixes band data types {set(src.dtypes)}")

    def __enter__(self) -> ChipReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._vrt is not None:
            self._vrt.close()
        self._src.close()

    def read(self, spec: ChipSpec, resampling: Resampling = Resampling.nearest
             ) -> tuple[np.ndarray, np.ndarray]:
        """(data [bands, h, w] in the raster dtype, valid [h, w] bool) for one chip."""
        offset = aligned_offset(self.grid, spec)
        if offset is not None:
            return self._window(offset[0], offset[1], spec.width, spec.height)
        scaled = self._scaled(spec, resampling)
        if scaled is not None:
            return scaled
        col, row, width, height = covering_window(self.grid, spec)
        data, valid = self._window(col, row, width, height)
        source = self.grid.transform @ Affine.translation(col, row)
        out = np.zeros((self.count, spec.height, spec.width), dtype=self.dtype)
        out_valid = np.zeros((spec.height, spec.width), dtype=np.uint8)
        common = dict(src_transform=source, src_crs=self.crs_wkt, dst_transform=spec.transform,
                      dst_crs=self.crs_wkt, init_dest_nodata=False)
        with warnings.catch_warnings():  # in-memory arrays carry no georeference of their own
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            reproject(data, out, resampling=resampling, **common)
            reproject(valid.astype(np.uint8), out_valid, resampling=Resampling.nearest, **common)
        return out, out_valid.astype(bool)

    def _scaled(self, spec: ChipSpec, resampling: Resampling
                ) -> tuple[np.ndarray, np.ndarray] | None:
        """An unrotated chip over whole grid pixels inside the raster, resampled by GDAL on
        read (so a large crop is never held at full resolution); None otherwise."""
        rel = ~self.grid.transform @ spec.transform
        if rel.b or rel.d or rel.a <= 0 or rel.e <= 0:
            return None
        window = Window(rel.c, rel.f, rel.a * spec.width, rel.e * spec.height)
        edges = (window.col_off, window.row_off, window.width, window.height)
        if any(abs(v - round(v)) > 1e-6 for v in edges):
            return None
        window = Window(*(round(v) for v in edges))
        if (window.col_off < 0 or window.row_off < 0
                or window.col_off + window.width > self.grid.width
                or window.row_off + window.height > self.grid.height):
            return None
        shape = (self.count, spec.height, spec.width)
        data = self._ds.read(window=window, out_shape=shape, resampling=resampling)
        if self._dataset_mask:
            mask = self._ds.dataset_mask(window=window, out_shape=shape[1:],
                                         resampling=Resampling.nearest)
            return data, np.asarray(mask > 0)
        return data, self._valid(data, window)

    def _window(self, col: int, row: int, width: int, height: int
                ) -> tuple[np.ndarray, np.ndarray]:
        grid = self.grid
        c0, r0 = max(col, 0), max(row, 0)
        c1, r1 = min(col + width, grid.width), min(row + height, grid.height)
        if c0 == col and r0 == row and c1 == col + width and r1 == row + height:
            window = Window(col, row, width, height)
            data = self._ds.read(window=window)
            return data, self._valid(data, window)
        data = np.zeros((self.count, height, width), dtype=self.dtype)
        valid = np.zeros((height, width), dtype=bool)
        if c1 > c0 and r1 > r0:
            window = Window(c0, r0, c1 - c0, r1 - r0)
            part = self._ds.read(window=window)
            data[:, r0 - row:r1 - row, c0 - col:c1 - col] = part
            valid[r0 - row:r1 - row, c0 - col:c1 - col] = self._valid(part, window)
        return data, valid

    def _valid(self, data: np.ndarray, window: Window) -> np.ndarray:
        # Like GDAL's dataset mask: a pixel is nodata only when every band is nodata.
        if self._dataset_mask:
            return np.asarray(self._ds.dataset_mask(window=window) > 0)
        if self.nodata is None:
            return np.ones(data.shape[1:], dtype=bool)
        if math.isnan(self.nodata):
            return np.asarray(~np.isnan(data).all(axis=0))
        return np.asarray((data != self.nodata).any(axis=0))


def _resampled(src: DatasetReader, cell_size: float, native: tuple[float, float]) -> WarpedVRT:
    left, bottom, right, top = footprint_of(src.transform, src.width, src.height).bounds
    width = max(1, math.ceil((right - left) / cell_size - 1e-6))
    height = max(1, math.ceil((top - bottom) / cell_size - 1e-6))
    coarser = cell_size > max(native) * (1 + 1e-9)
    return WarpedVRT(
        src, crs=src.crs, transform=Affine(cell_size, 0, left, 0, -cell_size, top),
        width=width, height=height,
        resampling=Resampling.average if coarser else Resampling.bilinear,
    )


def _band_name(src: DatasetReader, band: int) -> str:
    description = src.descriptions[band]
    if description:
        return str(description)
    interp = src.colorinterp[band].name
    return interp if interp not in ("undefined", "gray") else f"Band_{band + 1}"


def check_chip_format(fmt: str, count: int, dtype: np.dtype, name: str) -> None:
    """Refuse PNG/JPEG for data they cannot hold (they store 8-bit pictures only)."""
    if fmt == "TIFF":
        return
    if dtype != np.uint8:
        raise EngineInputError(
            f"image_chip_format: {fmt} holds 8-bit data only but raster {name} is {dtype}; "
            "use TIFF to keep the values"
        )
    if count not in PICTURE_BANDS[fmt]:
        allowed = " or ".join(str(n) for n in PICTURE_BANDS[fmt])
        raise EngineInputError(
            f"image_chip_format: {fmt} holds {allowed} bands but raster {name} has {count}; "
            "use TIFF"
        )


class ChipWriter:
    """Writes image chips in one format, keeping the georeference.

    TIFF chips keep bands and dtype (nodata tag kept for non-8-bit data). 8-bit output (uint8
    TIFF, PNG, JPEG) has its nodata and outside-raster pixels set to 0.
    """

    def __init__(self, fmt: str, count: int, dtype: np.dtype, crs_wkt: str,
                 nodata: float | None) -> None:
        self.fmt = fmt
        self.ext = CHIP_EXTENSIONS[fmt]
        self.count = count
        self.dtype = dtype
        self.crs_wkt = crs_wkt
        self.eight_bit = dtype == np.uint8
        self.nodata = None if self.eight_bit else nodata
        self._tiff = TiffTemplates(crs_wkt, self.nodata)

    def prepare(self, data: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Set invalid pixels to 0 (8-bit) or to the nodata value (in place)."""
        if not valid.all():
            fill = 0 if self.nodata is None else self.nodata
            np.copyto(data, np.asarray(fill, dtype=data.dtype), where=~valid[np.newaxis])
        return data

    def write(self, path: Path, data: np.ndarray, transform: Affine) -> None:
        if self.fmt == "TIFF":
            self._tiff.write(path, data, transform)
            return
        picture = data[0] if data.shape[0] == 1 else np.ascontiguousarray(data.transpose(1, 2, 0))
        image = Image.fromarray(picture)
        if self.fmt == "PNG":
            image.save(path, format="PNG", compress_level=1)
        else:
            image.save(path, format="JPEG", quality=JPEG_QUALITY)
        write_world_file(path.with_suffix("." + WORLD_EXTENSIONS[self.fmt]), transform)
        write_aux_srs(path, self.crs_wkt)


def write_mask(path: Path, mask: np.ndarray, transform: Affine, crs_wkt: str) -> None:
    """Single-band label raster (class values or instance ids), lossless and georeferenced."""
    write_geotiff(path, mask[np.newaxis], transform, crs_wkt, None, compress="deflate")


def write_world_file(path: Path, transform: Affine) -> None:
    # World files give the centre of the top-left pixel.
    x, y = transform @ (0.5, 0.5)
    values = (transform.a, transform.d, transform.b, transform.e, x, y)
    path.write_text("".join(f"{v:.10f}\n" for v in values))


def write_aux_srs(image: Path, crs_wkt: str) -> None:
    """GDAL PAM side-car holding the SRS of a PNG/JPEG chip."""
    text = (f'<PAMDataset>\n  <SRS dataAxisToSRSAxisMapping="1,2">{escape(crs_wkt)}</SRS>\n'
            "</PAMDataset>\n")
    image.with_name(image.name + ".aux.xml").write_text(text)
