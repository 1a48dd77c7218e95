"""Export Training Data For Deep Learning (Django-free) and the reader for export folders.

Export (``backend.engine.chips.export``):
    export_training_data(rasters: Sequence[RasterSource], features: Sequence[LabelFeature],
                         classes: Sequence[ClassDef], params: ExportParams, out_dir: Path,
                         progress: Progress = no_progress, should_stop: ShouldStop = never_stop
                         ) -> ExportSummary
    Formats: PASCAL_VOC_rectangles, KITTI_rectangles, RCNN_Masks, Classified_Tiles,
    Labeled_Tiles (ArcGIS layouts) and COCO (annotations.json at the root).

Parameters and results (``backend.engine.chips.params``):
    RasterSource(path, raster_id), LabelFeature(feature_id, geometry [EPSG:4326], class_value),
    ClassDef(value, name, color), ExportParams(...).validate(), ExportSummary, ClassStats

Reader (``backend.engine.chips.reader``), for ours and ArcGIS Pro's export folders:
    read_training_folder(path: Path) -> TrainingFolder
    read_boxes(sample: Sample, fmt: str, classes=()) -> list[Box]      (VOC, KITTI, COCO,
                                                                       Labeled_Tiles)
    read_class_mask(sample: Sample) -> np.ndarray [H, W]               (Classified_Tiles)
    read_instance_masks(sample: Sample) -> (np.ndarray [N, H, W] bool, np.ndarray [N] int64)
                                                                       (RCNN_Masks, COCO)
    read_tile_label(sample: Sample, classes=()) -> int                  (Labeled_Tiles)
    read_chip(sample: Sample) -> np.ndarray [bands, H, W] (stored dtype)
    band_stats_from_chips(samples, limit=None) -> tuple[BandStatistics, ...]
    Values: TrainingFolder, Sample, Box, BandStatistics (``backend.engine.chips.samples``).

Behaviour worth knowing:
- Tiles start every stride until the raster (or processing extent) is covered; the last row and
  column may run past the raster and are padded (0 in 8-bit output, else nodata or 0).
- A label keeps the part inside each chip (clipped); parts under min_polygon_overlap_ratio of
  its area are dropped, and so are edge slivers under 1 pixel across.
- 8-bit output writes nodata pixels as 0 and drops the nodata tag; other TIFF chips keep the
  raster's dtype, bands and nodata value. Chips holding nothing but nodata are skipped.
- RCNN_Masks folders are named by class name (labels/<name>/<stem>.tif, one per class per
  chip), as arcgis.learn reads them; the value when a name cannot be a folder name. The reader
  accepts folders named by name or value (older Rasterlab exports used values).
- Labeled_Tiles BOUNDING_BOX chips are the feature's bounding box resampled to the tile size.
- TIFF chips after the first of each shape are written from a GDAL-made template (fasttiff).
  One thread reads pixels ahead, the calling thread clips labels and numbers chips, and a few
  threads write files and chip statistics (export.WRITE_THREADS = 1: all in one thread).
"""
from backend.engine.chips.export import export_training_data
from backend.engine.chips.params import (
    ClassDef, ClassStats, ExportParams, ExportSummary, LabelFeature, RasterSource,
)
from backend.engine.chips.reader import (
    band_stats_from_chips, read_boxes, read_chip, read_class_mask, read_instance_masks,
    read_tile_label, read_training_folder,
)
from backend.engine.chips.samples import BandStatistics, Box, Sample, TrainingFolder

__all__ = [
    "BandStatistics", "Box", "ClassDef", "ClassStats", "ExportParams", "ExportSummary",
    "LabelFeature", "RasterSource", "Sample", "TrainingFolder", "band_stats_from_chips",
    "export_training_data", "read_boxes", "read_chip", "read_class_mask",
    "read_instance_masks", "read_tile_label", "read_training_folder",
]
