"""Esri Model Definition (.emd): parse into a typed `Emd`, write back without losing anything.

Round trip rules (what `emd_to_dict(parse_emd(d))` changes in `d`):
- Nothing, for every file: a key whose typed value did not change is written back with its
  original JSON value (so placeholders such as "e.g. 256", numbers given as strings, 1/0 flags,
  the per_class_metrics JSON string, colors [-1,-1,-1] and the key order all survive).
- Unknown keys are kept in `Emd.extras` and written back in their original place.
- A changed field is written in arcgis.learn's form (ints, floats, lists, accuracy as "%.4e"
  string, per_class_metrics as a JSON string when the file used one) at the key's original
  place; new keys go after the original ones in the order of `emd_fields.FIELDS`; a field set
  to None (or to an empty Classes/ModelParameters) is removed, unless the file held a
  placeholder for it, which is kept.
- Classes keep the key style of the file (`Value/Name/Color` or `ClassValue/ClassName`); a
  new class with no color gets Color [-1,-1,-1] (the export tool's "unknown"), because
  arcgis.learn reads Color for every class.

Rasterlab keys (all are ignored by ArcGIS):
- `ModelParameters.rasterlab_arch` (str): the architecture name given to
  `backend.engine.nets.build_model`; it marks a package written by Rasterlab.
- `ModelParameters.rasterlab_resized_from` (int): training resized exported chips of this size to
  ImageHeight; inference reads the raster coarser by that ratio (`resize_to` alone does not say
  from what).
- `ArgumentDefaults` (object): inference argument defaults edited by users, e.g.
  `{"threshold": 0.3, "padding": 64}`; see `arguments.inference_arguments`.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from backend.engine.dlpk.emd_classes import class_key_style, dump_class
from backend.engine.dlpk.emd_fields import FIELDS, FIELDS_BY_KEY
from backend.engine.dlpk.emd_types import CellSize, ClassKeyStyle, EmdClass, NormalizationStats
from backend.engine.dlpk.emd_values import MISSING, to_json
from backend.engine.errors import EngineInputError

RASTERLAB_ARCH_KEY = "rasterlab_arch"
RESIZED_FROM_KEY = "rasterlab_resized_from"
"""Key in ModelParameters naming the Rasterlab architecture (see module docstring)."""


@dataclass(frozen=True)
class Emd:
    """Typed view of an .emd file. Field names are snake_case versions of the emd keys
    (`emd_fields.FIELDS` maps them). Values are None when the key is absent or a placeholder.

    Not hashable (it holds dicts). Change it with `with_changes(**fields)`.
    """

    framework: str | None = None
    model_configuration: str | dict[str, Any] | None = None
    model_type: str | None = None
    inference_function: str | None = None
    model_file: str | None = None
    model_name: str | None = None
    model_format: str | None = None
    arcgis_learn_version: str | None = None
    image_height: int | None = None
    image_width: int | None = None
    extract_bands: tuple[int | str, ...] | None = None
    data_range: tuple[float, float] | None = None
    classes: tuple[EmdClass, ...] = ()
    class_key_style: ClassKeyStyle = "Value"
    model_parameters: dict[str, Any] = field(default_factory=dict)
    backbone: str | None = None
    backend: str | None = None
    learning_rate: str | None = None
    image_space_used: str | None = None
    min_cell_size: CellSize | None = None
    max_cell_size: CellSize | None = None
    supports_variable_tile_size: bool | None = None
    resize_to: int | tuple[int, int] | None = None
    is_multispectral: bool | None = None
    is_imagenet_normalization: bool | None = None
    bands: Any = None
    imagery_type: str | None = None
    normalization_stats: NormalizationStats | None = None
    do_normalize: bool | None = None
    preprocessing: str | None = None
    meta_data_mode: str | None = None
    crop_size_fixed: bool | None = None
    blacken_around_feature: bool | None = None
    exp_map: bool | None = None
    ignore_mapped_class: tuple[int, ...] | None = None
    grids: Any = None
    zooms: Any = None
    ratios: Any = None
    ssd_version: int | None = None
    model_configuration_file: str | None = None
    model_file_configuration_class: str | None = None
    dataset_type: str | None = None
    kwargs: dict[str, Any] | None = None
    maskrcnn_kwargs: dict[str, Any] | None = None
    batch_size: int | None = None
    model_padding: int | None = None
    padding: int | None = None
    threshold: float | None = None
    test_time_augmentation: bool | None = None
    tta_scales: str | None = None
    argument_defaults: dict[str, Any] | None = None
    accuracy: float | None = None
    average_precision_score: dict[str, float | None] | None = None
    per_class_metrics: dict[str, Any] | None = None
    version: str | None = None
    model_version: str | None = None
    description: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    """Keys this class does not know, in file order, written back unchanged."""
    source: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The parsed JSON object; used to write unchanged fields back in their original form."""

    def with_changes(self, **changes: Any) -> Emd:
        """A copy with some fields replaced (`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)

    @property
    def model_configuration_name(self) -> str | None:
        """ModelConfiguration as a string, or its "Name" when given as an object."""
        config = self.model_configuration
        if isinstance(config, dict):
            name = config.get("Name")
            return name if isinstance(name, str) else None
        return config

    @property
    def backbone_name(self) -> str | None:
        """`ModelParameters.backbone`, else the top-level `backbone` (SSD)."""
        name = self.model_parameters.get("backbone")
        return name if isinstance(name, str) else self.backbone

    @property
    def rasterlab_arch(self) -> str | None:
        arch = self.model_parameters.get(RASTERLAB_ARCH_KEY)
        return arch if isinstance(arch, str) and arch else None

    @property
    def resized_from(self) -> int | None:
        """Size of the exported chips that training resized to ImageHeight (Rasterlab packages)."""
        size = self.model_parameters.get(RESIZED_FROM_KEY)
        return size if isinstance(size, int) and not isinstance(size, bool) and size > 0 else None


def _load_json(source: str | bytes) -> Any:
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise EngineInputError(
                f"the .emd is not UTF-8 text (byte {exc.start}); save it as UTF-8 JSON"
            ) from None
    try:
        return json.loads(source.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise EngineInputError(
            f"the .emd is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def parse_emd(source: str | bytes | dict[str, Any]) -> Emd:
    """Parse .emd JSON text, bytes (UTF-8, BOM allowed) or an already-decoded object.

    Raises EngineInputError for invalid JSON (with line and column) or a known key whose
    value has the wrong type (naming the key).
    """
    data = source if isinstance(source, dict) else _load_json(source)
    if not isinstance(data, dict):
        raise EngineInputError("the .emd must hold a JSON object ({...}) at the top level")
    values: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    for key, raw in data.items():
        spec = FIELDS_BY_KEY.get(key)
        if spec is None:
            extras[key] = to_json(raw)
        else:
            values[spec.attr] = spec.parse(raw, key)
    if "Classes" in data:
        values["class_key_style"] = class_key_style(data["Classes"])
    return Emd(**values, extras=extras, source=to_json(data))


def _is_empty(value: Any) -> bool:
    return value is None or value == () or value == {}


def _dump_classes(emd: Emd, raw: Any) -> list[dict[str, Any]]:
    same_style = class_key_style(raw) == emd.class_key_style
    raw_items = raw if isinstance(raw, list) and same_style else []
    return [
        dump_class(cls, emd.class_key_style, raw_items[i] if i < len(raw_items) else MISSING)
        for i, cls in enumerate(emd.classes)
    ]


def _dump_field(emd: Emd, key: str, raw: Any) -> Any:
    """The JSON value for a known key, or MISSING to leave the key out."""
    spec = FIELDS_BY_KEY[key]
    value = getattr(emd, spec.attr)
    if raw is not MISSING:
        try:
            unchanged = spec.parse(raw, key) == value
        except EngineInputError:
            unchanged = False
        if unchanged and not (key == "Classes" and class_key_style(raw) != emd.class_key_style):
            return raw
    if _is_empty(value):
        return MISSING
    if key == "Classes":
        return _dump_classes(emd, raw)
    return spec.dump(value, raw)


def emd_to_dict(emd: Emd) -> dict[str, Any]:
    """The emd as a JSON-ready dict (see the module docstring for what is preserved)."""
    out: dict[str, Any] = {}
    for key, raw in emd.source.items():
        if key in FIELDS_BY_KEY:
            value = _dump_field(emd, key, raw)
            if value is not MISSING:
                out[key] = to_json(value)
        elif key in emd.extras:
            out[key] = to_json(emd.extras[key])
    for spec in FIELDS:
        if spec.key not in emd.source:
            value = _dump_field(emd, spec.key, MISSING)
            if value is not MISSING:
                out[spec.key] = to_json(value)
    for key, extra in emd.extras.items():
        if key not in out and key not in FIELDS_BY_KEY:
            out[key] = to_json(extra)
    return out


def emd_to_json(emd: Emd) -> str:
    """The .emd text as arcgis.learn writes it (4-space indent, ASCII), ending with a newline."""
    return json.dumps(emd_to_dict(emd), indent=4) + "\n"


def class_index_to_value(emd: Emd) -> tuple[int, ...]:
    """Class Value for each model output index (esri-dlpk.md §7).

    Detectors and pixel classifiers have N+1 outputs, index 0 being background/NoData (value 0);
    index k maps to Classes[k-1].Value. Object classifiers (ModelType ObjectClassification,
    i.e. FeatureClassifier) have N outputs: index k maps to Classes[k].Value.
    """
    values = tuple(cls.value for cls in emd.classes)
    if emd.model_type == "ObjectClassification":
        return values
    return (0, *values)
