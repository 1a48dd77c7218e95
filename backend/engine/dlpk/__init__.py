"""Esri deep-learning packages (.dlpk) and model definitions (.emd), Django-free.

Public API (see each module for details):

emd.py
    parse_emd(source: str | bytes | dict) -> Emd
    emd_to_dict(emd: Emd) -> dict            # unchanged fields written back as in the file
    emd_to_json(emd: Emd) -> str             # 4-space indent like arcgis.learn
    class_index_to_value(emd: Emd) -> tuple[int, ...]   # model output index -> class Value
    Emd (frozen dataclass; .with_changes(**fields), .model_configuration_name,
         .backbone_name, .rasterlab_arch), RASTERLAB_ARCH_KEY = "rasterlab_arch"
emd_types.py
    EmdClass(value, name, color, extras), CellSize(x, y, wkid, latest_wkid),
    NormalizationStats(band_*_values, scaled_*_values, extras)
emd_fields.py / emd_values.py / emd_classes.py (internal)
    FIELDS: the emd key <-> Emd field table, and the tolerant converters
families.py
    model_family(emd: Emd) -> FamilyInfo(family, runnable, reason, architecture)
    architecture(emd: Emd) -> str | None, KNOWN_MODEL_TYPES, MODEL_TYPE_FAMILY, ARCH_FAMILY
arguments.py
    inference_arguments(emd: Emd) -> list[ArgumentSpec(name, type, default, description,
                                                       choices, minimum, maximum)]
    coerce_arguments(emd: Emd, given: dict) -> dict
package.py
    inspect_dlpk(path, limits=DEFAULT_LIMITS) -> DlpkInfo(emd, emd_name, members,
                                                        total_size, model_file)
    extract_dlpk(path, dest_dir, limits=DEFAULT_LIMITS, progress=..., should_stop=...)
        -> DlpkInfo
    write_dlpk(folder, out_path) -> Path
    rewrite_emd(package_path, emd, out_path=None) -> Path
    sha256_file(path) -> str
archive.py
    PackageLimits(max_members, max_total_size, max_compression_ratio, ratio_min_size,
                  max_emd_size), DEFAULT_LIMITS, MemberInfo(name, size)
weights.py (imports torch; loaded lazily from this package)
    load_state_dict(path) -> dict[str, torch.Tensor]
errors.py
    PackageError (an EngineInputError)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backend.engine.dlpk.archive import MemberInfo, PackageLimits
from backend.engine.dlpk.arguments import ArgumentSpec, coerce_arguments, inference_arguments
from backend.engine.dlpk.emd import (
    RASTERLAB_ARCH_KEY,
    Emd,
    class_index_to_value,
    emd_to_dict,
    emd_to_json,
    parse_emd,
)
from backend.engine.dlpk.emd_types import CellSize, EmdClass, NormalizationStats
from backend.engine.dlpk.errors import PackageError
from backend.engine.dlpk.families import FamilyInfo, model_family
from backend.engine.dlpk.package import (
    DlpkInfo,
    extract_dlpk,
    inspect_dlpk,
    rewrite_emd,
    sha256_file,
    write_dlpk,
)

if TYPE_CHECKING:
    from backend.engine.dlpk.weights import load_state_dict

__all__ = [
    "RASTERLAB_ARCH_KEY",
    "ArgumentSpec",
    "CellSize",
    "DlpkInfo",
    "Emd",
    "EmdClass",
    "FamilyInfo",
    "MemberInfo",
    "NormalizationStats",
    "PackageError",
    "PackageLimits",
    "class_index_to_value",
    "coerce_arguments",
    "emd_to_dict",
    "emd_to_json",
    "extract_dlpk",
    "inference_arguments",
    "inspect_dlpk",
    "load_state_dict",
    "model_family",
    "parse_emd",
    "rewrite_emd",
    "sha256_file",
    "write_dlpk",
]


def __getattr__(name: str) -> Any:
    # torch takes seconds to import; only weight loading needs it.
    if name == "load_state_dict":
        from backend.engine.dlpk.weights import load_state_dict

        return load_state_dict
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
