"""How a model from another framework (ONNX, TorchScript) talks to the engine: the .emd's
``ModelIO`` object, else the ONNX file's metadata, else conventions.

``ModelIO`` (a top-level .emd key that ArcGIS ignores)::

    "ModelIO": {
        "input": "images",          # input name (default: the model's only input)
        "scaling": "unit",          # unit (0..1) | normalized (mean/std) | raw (pixel values)
        "outputs": {"boxes": "boxes", "scores": "scores", "labels": "labels", "masks": "masks"},
        "labels": "index1",         # index1: 1..N, 0 = background (torchvision) | index0 | value
        "max_detections": 300       # optional: per chip, after NMS
    }

Output roles per family:
    object/instance detection  boxes [N,4] xyxy chip pixels, scores [N], labels [N], masks
                               [N,(1,)H,W] (instances; probabilities or 0/1). A leading batch axis
                               is allowed; without it the model takes one chip at a time.
    pixel classification       logits [B,K,H,W] (K = classes + 1 with background first, or K =
                               classes) or class_ids [B,(1,)H,W] (model indices or class values,
                               see "labels")
    object classification      logits [B,N] or probabilities [B,N] (index k = Classes[k])

When "outputs" is not given, an ONNX model's metadata property ``rasterlab.model_io`` (the same
JSON object) is read; then outputs named exactly like a role are taken; then, for the
classifiers, a single output is taken as logits. "scaling" defaults to what Rasterlab's own
models take: unit for detectors, normalized for the other families.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from backend.engine.dlpk.emd import Emd
from backend.engine.dlpk.families import MODEL_TYPE_FAMILY
from backend.engine.errors import EngineInputError

MODEL_IO_KEY = "ModelIO"
METADATA_KEY = "rasterlab.model_io"
SCALINGS = ("unit", "normalized", "raw")
LABEL_MODES = ("index1", "index0", "value")

DETECTION_ROLES = ("boxes", "scores", "labels", "masks")
ROLES: dict[str, tuple[str, ...]] = {
    "object_detection": DETECTION_ROLES,
    "instance_detection": DETECTION_ROLES,
    "pixel_classification": ("logits", "class_ids"),
    "object_classification": ("logits", "probabilities"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "object_detection": ("boxes", "scores", "labels"),
    "instance_detection": ("boxes", "scores", "labels", "masks"),
}


@dataclass(frozen=True)
class ModelIO:
    """Resolved input/output conventions of one foreign model."""

    family: str
    input: str | None = None
    scaling: str = "normalized"
    outputs: Mapping[str, str] = field(default_factory=dict)  # role -> output name
    labels: str = "index1"
    max_detections: int | None = None  # per chip, after NMS (as the PyTorch detectors cap them)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"scaling": self.scaling, "outputs": dict(self.outputs), "labels": self.labels}
        if self.input:
            out["input"] = self.input
        if self.max_detections:
            out["max_detections"] = self.max_detections
        return out


def family_of(emd: Emd) -> str:
    family = MODEL_TYPE_FAMILY.get(emd.model_type or "")
    if family is None:
        raise EngineInputError(
            f"ModelType {emd.model_type!r} is not one Rasterlab runs ({', '.join(MODEL_TYPE_FAMILY)})"
        )
    return family


def declared_io(emd: Emd) -> dict[str, Any]:
    """The .emd's ModelIO object ({} when absent); EngineInputError when it is not an object."""
    raw = emd.extras.get(MODEL_IO_KEY)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise EngineInputError(f"{MODEL_IO_KEY} in the .emd must be an object, got {type(raw).__name__}")
    return raw


def metadata_io(metadata: Mapping[str, str]) -> dict[str, Any]:
    """The ModelIO object an ONNX file carries in its metadata ({} when none or unreadable)."""
    text = metadata.get(METADATA_KEY)
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def resolve_io(
    emd: Emd, input_names: Sequence[str], output_names: Sequence[str],
    metadata: Mapping[str, str] | None = None,
) -> ModelIO:
    """Which input and outputs to use, checked against the names found in the model file."""
    family = family_of(emd)
    declared = declared_io(emd)
    meta = metadata_io(metadata or {})
    scaling = str(declared.get("scaling") or meta.get("scaling")
                  or ("unit" if family in REQUIRED else "normalized"))
    if scaling not in SCALINGS:
        raise EngineInputError(f"{MODEL_IO_KEY}.scaling must be one of {', '.join(SCALINGS)} (got {scaling!r})")
    labels = str(declared.get("labels") or meta.get("labels") or "index1")
    if labels not in LABEL_MODES:
        raise EngineInputError(f"{MODEL_IO_KEY}.labels must be one of {', '.join(LABEL_MODES)} (got {labels!r})")
    input_name = declared.get("input") or meta.get("input")
    if input_name is None:
        if len(input_names) != 1:
            raise EngineInputError(
                f"the model has {len(input_names)} inputs ({', '.join(input_names)}); name the image "
                f"input in the .emd's {MODEL_IO_KEY}.input"
            )
        input_name = input_names[0]
    elif input_name not in input_names:
        raise EngineInputError(
            f"{MODEL_IO_KEY}.input is {input_name!r} but the model's inputs are {', '.join(input_names)}"
        )
    outputs = _outputs(family, declared.get("outputs") or meta.get("outputs") or {}, output_names)
    cap = declared.get("max_detections", meta.get("max_detections"))
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
        raise EngineInputError(f"{MODEL_IO_KEY}.max_detections must be a whole number of 1 or more (got {cap!r})")
    return ModelIO(family, str(input_name), scaling, outputs, labels, cap)


def _outputs(family: str, given: Any, names: Sequence[str]) -> dict[str, str]:
    roles = ROLES[family]
    if not isinstance(given, dict):
        raise EngineInputError(f"{MODEL_IO_KEY}.outputs must map roles ({', '.join(roles)}) to output names")
    outputs: dict[str, str] = {}
    for role, name in given.items():
        if role not in roles:
            raise EngineInputError(
                f"{MODEL_IO_KEY}.outputs: {role!r} is not a role of a {family.replace('_', ' ')} model "
                f"({', '.join(roles)})"
            )
        if name not in names:
            raise EngineInputError(
                f"{MODEL_IO_KEY}.outputs.{role} is {name!r} but the model's outputs are {', '.join(names)}"
            )
        outputs[role] = str(name)
    if not outputs:  # conventions: outputs named like the roles, else a single classifier output
        outputs = {role: role for role in roles if role in names}
        if not outputs and family not in REQUIRED and len(names) == 1:
            outputs = {roles[0]: names[0]}
    required = REQUIRED.get(family)
    if required is None:
        if not outputs:
            raise EngineInputError(
                f"cannot tell which of the outputs ({', '.join(names)}) holds the result; set "
                f"{MODEL_IO_KEY}.outputs in the .emd, e.g. {{\"{roles[0]}\": \"{names[0] if names else 'out'}\"}}"
            )
        if len(outputs) > 1:
            raise EngineInputError(f"{MODEL_IO_KEY}.outputs: give one of {', '.join(roles)}, not both")
        return outputs
    missing = [role for role in required if role not in outputs]
    if missing:
        raise EngineInputError(
            f"a {family.replace('_', ' ')} model needs outputs for {', '.join(required)}; cannot find "
            f"{', '.join(missing)} among {', '.join(names)}: name them in the .emd's {MODEL_IO_KEY}.outputs"
        )
    return outputs
