"""The tools of ``Rasterlab`` (methods: ``self`` is the client). Keyword names and defaults are the
server's params (tests/client/test_schema_drift.py compares them with /api/schema/); ``None`` means
the server's computed default. Each returns what its job made, or the Job with ``wait=False``."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

from .items import Raster

if TYPE_CHECKING:
    from .client import Extent, Rasterlab, Ref


def export_training_data(self: Rasterlab, rasters: Union[Ref, Sequence[Ref]], layer: Optional[Ref] = None, *,
                         metadata_format: str, tile_size_x: int = 256, tile_size_y: Optional[int] = None,
                         stride_x: Optional[int] = None, stride_y: Optional[int] = None,
                         cell_size: Optional[float] = None, output_nofeature_tiles: bool = False,
                         min_polygon_overlap_ratio: float = 0.0, rotation_angle: float = 0.0,
                         image_chip_format: str = "TIFF", start_index: int = 0, crop_mode: str = "FIXED_SIZE",
                         blacken_around_feature: bool = False, buffer_radius: Optional[float] = None,
                         extent: Extent = None, only_accepted: bool = False, out_name: Optional[str] = None,
                         wait: bool = True) -> Any:
    """Export Training Data For Deep Learning from ``rasters`` (a raster, a list, or a Collection): image
    chips and labels of ``layer`` (default: the
    project's labels) in ``metadata_format`` (PASCAL_VOC_rectangles, KITTI_rectangles, RCNN_Masks,
    Classified_Tiles, Labeled_Tiles or COCO). Returns the Dataset."""
    values = dict(locals())
    del values["self"]
    if values["layer"] is None:
        values["layer"] = self.labels(_first_project(self, rasters))
    job = self._run("export_training_data", values)
    return job if not wait else self.dataset(job.result["dataset"])


def train_model(self: Rasterlab, dataset: Ref, model_type: str, *, backbone_model: Optional[str] = None,
                max_epochs: int = 20, batch_size: int = 4, learning_rate: Optional[float] = None,
                validation_percentage: float = 10.0, stop_training: bool = True, patience: int = 5,
                pretrained_model: Optional[Ref] = None, freeze_backbone_epochs: Optional[int] = None,
                schedule: str = "one_cycle", chip_size: Optional[int] = None, processor_type: str = "CPU",
                out_name: Optional[str] = None, wait: bool = True) -> Any:
    """Train Deep Learning Model from a Dataset: FasterRCNN, RetinaNet, SSD, MaskRCNN, UnetClassifier,
    DeepLab, FeatureClassifier... ``learning_rate=None`` finds one. Returns the Model (its
    ``metrics``; the job's history is in ``model.training``)."""
    values = dict(locals())
    del values["self"]
    job = self._run("train_model", values)
    if not wait:
        return job
    model = self.model(job.result["model"])
    model.training = job.result
    return model


def detect_objects(self: Rasterlab, raster: Ref, model: Ref, extent: Extent = None, *,
                   run_nms: bool = False, max_overlap_ratio: float = 0.0, class_agnostic: bool = False,
                   cell_size: Optional[float] = None, part_size: int = 4096, processor_type: str = "CPU",
                   out_name: Optional[str] = None, wait: bool = True, **arguments: Any) -> Any:
    """Detect Objects Using Deep Learning. ``**arguments``: the model's (``model.query_info()``), e.g.
    ``threshold=0.5, batch_size=8, padding=32``. ``extent``: a GeoJSON Polygon (EPSG:4326).
    Returns the detections Layer (``.read()``: a GeoDataFrame, or GeoJSON without geopandas)."""
    values = dict(locals())
    for name in ("self", "arguments"):
        del values[name]
    job = self._run("detect_objects", values, arguments)
    return job if not wait else self.layer(job.result["layer"])


def classify_pixels(self: Rasterlab, raster: Ref, model: Ref, extent: Extent = None, *,
                    cell_size: Optional[float] = None, part_size: int = 4096, processor_type: str = "CPU",
                    out_name: Optional[str] = None, wait: bool = True, **arguments: Any) -> Any:
    """Classify Pixels Using Deep Learning. Returns the classified Raster."""
    values = dict(locals())
    for name in ("self", "arguments"):
        del values[name]
    job = self._run("classify_pixels", values, arguments)
    return job if not wait else self.raster(job.result["raster"])


def classify_objects(self: Rasterlab, raster: Ref, layer: Ref, model: Ref, *, processor_type: str = "CPU",
                     out_name: Optional[str] = None, wait: bool = True, **arguments: Any) -> Any:
    """Classify Objects Using Deep Learning: a copy of ``layer`` with each feature's class_value,
    class_name and confidence. Returns the new Layer."""
    values = dict(locals())
    for name in ("self", "arguments"):
        del values[name]
    job = self._run("classify_objects", values, arguments)
    return job if not wait else self.layer(job.result["layer"])


def non_max_suppression(self: Rasterlab, layer: Ref, *, max_overlap_ratio: float = 0.0,
                        class_agnostic: bool = False, out_name: Optional[str] = None, wait: bool = True) -> Any:
    """Non Maximum Suppression: a copy of a detections layer without overlapping duplicates."""
    values = dict(locals())
    del values["self"]
    job = self._run("non_max_suppression", values)
    return job if not wait else self.layer(job.result["layer"])


def compute_accuracy(self: Rasterlab, detections: Optional[Ref] = None, ground_truth: Optional[Ref] = None, *,
                     classified_raster: Optional[Ref] = None, reference_raster: Optional[Ref] = None,
                     extent: Extent = None, min_iou: float = 0.5, only_accepted: bool = False,
                     wait: bool = True) -> Any:
    """Compute Accuracy: a detections layer against ground-truth labels (precision, recall, AP per
    class), or a classified raster against labels or a reference raster. Returns the job's result."""
    values = dict(locals())
    del values["self"]
    job = self._run("compute_accuracy", values)
    return job if not wait else job.result


def export_onnx(self: Rasterlab, model: Ref, *, out_name: Optional[str] = None, wait: bool = True) -> Any:
    """Export a PyTorch model package to an ONNX package (checked against the PyTorch model on sample
    chips). Returns the new Model."""
    values = dict(locals())
    del values["self"]
    job = self._run("export_onnx", values)
    return job if not wait else self.model(job.result["model"])


def _first_project(self: Rasterlab, rasters: Any) -> Optional[int]:
    first = rasters[0] if isinstance(rasters, (list, tuple)) and rasters else rasters
    project = getattr(first, "data", {}).get("project") if isinstance(first, Raster) else None
    return project if isinstance(project, int) else None


