"""The geoprocessing tools as job kinds: which client argument is which job parameter.

Each tool's keyword arguments are named as the server's params (the ArcGIS names) with the
server's defaults; only the inputs have short names (``raster`` is ``in_raster``...). Both are
tested against /api/schema/ (tests/client/test_schema_drift.py), so the two cannot drift.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Tuple

from .items import Collection, item_id


@dataclass(frozen=True)
class Tool:
    kind: str
    # client argument -> job parameter (for inputs and renamed parameters)
    renamed: Mapping[str, str] = field(default_factory=dict)
    # the tool's **kwargs are the model's arguments (params.arguments)
    model_arguments: bool = False
    # job parameters the client does not offer (internal knobs), said on purpose
    hidden: Tuple[str, ...] = ()
    # inputs that take ids or items (converted to ids), or lists of them
    ids: Tuple[str, ...] = ()
    # parameters the server requires that the client fills itself when not given (e.g. the labels layer)
    client_fills: Tuple[str, ...] = ()
    # one argument, several parameters by the value's type: a list of rasters is in_rasters, a
    # Collection is in_collection (issue 17)
    alternatives: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)


RASTER_INPUTS = {"in_raster": ("in_rasters", "in_collection")}


TOOLS: Dict[str, Tool] = {
    "export_training_data": Tool("export_training_data", {"rasters": "in_rasters", "layer": "in_layer",
                                                          "extent": "processing_extent"},
                                 ids=("in_rasters", "in_layer", "in_collection"), client_fills=("in_layer",),
                                 alternatives={"in_rasters": ("in_collection",)}),
    "train_model": Tool("train_model", {"dataset": "in_dataset"}, ids=("in_dataset", "pretrained_model")),
    "detect_objects": Tool("detect_objects", {"raster": "in_raster", "model": "in_model",
                                              "extent": "processing_extent"},
                           model_arguments=True, ids=("in_raster", "in_rasters", "in_collection", "in_model"),
                           alternatives=RASTER_INPUTS),
    "classify_pixels": Tool("classify_pixels", {"raster": "in_raster", "model": "in_model",
                                                "extent": "processing_extent"},
                            model_arguments=True, ids=("in_raster", "in_rasters", "in_collection", "in_model"),
                           alternatives=RASTER_INPUTS),
    "classify_objects": Tool("classify_objects", {"raster": "in_raster", "layer": "in_layer", "model": "in_model"},
                             model_arguments=True,
                             ids=("in_raster", "in_rasters", "in_collection", "in_layer", "in_model"),
                             alternatives=RASTER_INPUTS),
    "non_max_suppression": Tool("non_max_suppression", {"layer": "in_layer"}, ids=("in_layer",)),
    "compute_accuracy": Tool("compute_accuracy", {"detections": "in_detected_features",
                                                  "ground_truth": "in_ground_truth_features",
                                                  "classified_raster": "in_classified_raster",
                                                  "reference_raster": "in_reference_raster",
                                                  "extent": "processing_extent"},
                             ids=("in_detected_features", "in_ground_truth_features", "in_classified_raster",
                                  "in_reference_raster")),
    "export_onnx": Tool("export_onnx", {"model": "in_model"}, ids=("in_model",)),
}

# Job kinds the client has no method for (start them with Rasterlab.start_job(kind, params)).
UNWRAPPED: Tuple[str, ...] = ()


def job_params(tool: Tool, values: Dict[str, Any], arguments: Dict[str, Any]) -> Dict[str, Any]:
    """The params of a POST /api/jobs/ from a tool call's arguments (None: the server's default)."""
    params: Dict[str, Any] = {}
    for name, value in values.items():
        key = _input_key(tool, tool.renamed.get(name, name), value)
        if key in tool.ids and value is not None:
            value = [item_id(v) for v in value] if isinstance(value, (list, tuple)) else item_id(value)
        if value is not None:
            params[key] = value
    if tool.model_arguments:
        params["arguments"] = {k: v for k, v in arguments.items() if v is not None}
    return params


def _input_key(tool: Tool, key: str, value: Any) -> str:
    """in_raster, in_rasters or in_collection by what was given (a raster, a list, a Collection)."""
    alternatives = tool.alternatives.get(key, ())
    if isinstance(value, Collection) and "in_collection" in alternatives:
        return "in_collection"
    if isinstance(value, (list, tuple)) and "in_rasters" in alternatives:
        return "in_rasters"
    return key
