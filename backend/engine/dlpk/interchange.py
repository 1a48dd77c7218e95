"""What a Rasterlab package needs so that ArcGIS (arcgis.learn, ArcGIS Pro) runs it.

Three routes, chosen per architecture and backbone by `arcgis_route`:

- "native": the weights are key for key what arcgis.learn saves for its class (MaskRCNN,
  FeatureClassifier, UnetClassifier); the emd names arcgis.learn's inference module and Pro's
  built-in raster function, as arcgis.learn itself writes them.
- "native_extension": arcgis.learn's class is a ModelExtension (FasterRCNN resnet50): its
  `from_model` rebuilds the network itself, but Pro's `_model_extension_inferencing` imports the
  package's ModelConfigurationFile, so the package carries our `ModelConfiguration.py`.
- "extension": arcgis.learn has no such network (RetinaNet, SSDlite, DeepLabv3, FasterRCNN on
  a MobileNet): ModelName "ModelExtension" with our `ModelConfiguration.py`, which builds the
  torchvision network from the emd (Esri's documented route for custom models). Pixel
  classifiers of this route also carry our Python raster function RasterlabPixelClassifier.py
  (InferenceFunction), which Classify Pixels runs in Pro.

`ModelConfiguration.py` (arcgis_scripts/) is our own code, only copied into packages: Rasterlab
never imports or runs a script found in a package. Multispectral and non-8-bit packages also
get `Bands` and `ImageryType`, which arcgis.learn reads beside NormalizationStats.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

ARCGIS_FRAMEWORK = "arcgis.learn.models._inferencing"
EXTENSION_CONFIGURATION = "_model_extension_inferencing"
MODEL_CONFIGURATION_FILE = "ModelConfiguration.py"
MODEL_CONFIGURATION_CLASS = "RasterlabModelConfiguration"
PIXEL_FUNCTION_FILE = "RasterlabPixelClassifier.py"
SCRIPTS_DIR = Path(__file__).resolve().parent / "arcgis_scripts"
PRO_FUNCTIONS = "[Functions]System\\DeepLearning\\ArcGISLearn\\"

# arcgis.learn classes whose state_dict Rasterlab writes key for key, per backbone.
_NATIVE: dict[str, frozenset[str]] = {
    "MaskRCNN": frozenset({"resnet50", "resnet101", "resnet152"}),
    "FeatureClassifier": frozenset({"resnet18", "resnet34", "resnet50", "resnet101", "resnet152"}),
    "UnetClassifier": frozenset({"resnet18", "resnet34", "resnet50", "resnet101"}),  # DynamicUnet
}
_NATIVE_CONFIGURATION = {"MaskRCNN": "_maskrcnn_inferencing", "FeatureClassifier": "_FeatureClassifier",
                         "UnetClassifier": "_unet"}
_NATIVE_EXTENSION: dict[str, frozenset[str]] = {"FasterRCNN": frozenset({"resnet50"})}
# Networks ModelConfiguration.py can build, per backbone.
_EXTENSION: dict[str, frozenset[str]] = {
    "FasterRCNN": frozenset({"resnet50", "mobilenet_v3_large", "efficientnet_lite0"}),
    "RetinaNet": frozenset({"resnet50"}),
    "SingleShotDetector": frozenset({"mobilenet_v3_large"}),
    "DeepLab": frozenset({"resnet50", "resnet101"}),
}
_PRO_FUNCTION = {
    "ObjectDetection": "ArcGISObjectDetector.py",
    "InstanceDetection": "ArcGISInstanceDetector.py",
    "ImageClassification": "ArcGISImageClassifier.py",
    "ObjectClassification": "ArcGISObjectClassifier.py",
}
_EXTENSION_DATASET = {"ObjectDetection": "PASCAL_VOC_rectangles",
                      "ImageClassification": "Classified_Tiles"}
_RGB_NAMES = {"red": "r", "green": "g", "blue": "b", "r": "r", "g": "g", "b": "b"}


def arcgis_route(arch: str, backbone: str) -> str | None:
    """"native", "native_extension", "extension", or None when ArcGIS cannot run it."""
    if backbone in _NATIVE.get(arch, ()):
        return "native"
    if backbone in _NATIVE_EXTENSION.get(arch, ()):
        return "native_extension"
    if backbone in _EXTENSION.get(arch, ()):
        return "extension"
    return None


def band_names(names: Sequence[Any] | None, count: int) -> list[str]:
    """emd `Bands`: one lower-case name per raster band (r, g, b for colour bands, which
    arcgis.learn maps onto its RGB weights; band_<n> where the export recorded none)."""
    out = []
    for i in range(count):
        name = str(names[i]).strip().lower() if names and i < len(names) and names[i] else ""
        out.append(_RGB_NAMES.get(name, name or f"band_{i + 1}"))
    return out


def arcgis_fields(
    *, arch: str, backbone: str, model_type: str, bands: int, imagenet: bool,
    export_band_names: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """The emd keys that tell ArcGIS how to run this package (merge them into the emd).

    Keys: Framework, ModelConfiguration, InferenceFunction, ModelName and ArcGISLearnVersion;
    ModelConfigurationFile, ModelFileConfigurationClass, DatasetType and Kwargs for extension
    routes; Bands and ImageryType unless the input is 8-bit RGB with ImageNet statistics.
    """
    route = arcgis_route(arch, backbone)
    fields: dict[str, Any] = {"InferenceFunction": PRO_FUNCTIONS + _PRO_FUNCTION[model_type]}
    if route is None:  # stays a Rasterlab-only package; say so rather than look like arcgis.learn's
        fields.update({"Framework": "PyTorch", "ModelConfiguration": f"rasterlab.{arch}",
                       "ModelName": arch})
    else:
        fields.update({"Framework": ARCGIS_FRAMEWORK, "ArcGISLearnVersion": "2.4.4"})
    if route == "native":
        fields.update({"ModelConfiguration": _NATIVE_CONFIGURATION[arch], "ModelName": arch})
    elif route in ("native_extension", "extension"):
        fields.update({
            "ModelConfiguration": EXTENSION_CONFIGURATION,
            "ModelName": arch if route == "native_extension" else "ModelExtension",
            "ModelConfigurationFile": MODEL_CONFIGURATION_FILE,
            "ModelFileConfigurationClass": MODEL_CONFIGURATION_CLASS,
            "DatasetType": _EXTENSION_DATASET.get(model_type, "PASCAL_VOC_rectangles"),
            "Kwargs": {},
        })
        if model_type == "ImageClassification":
            # Our own raster function (in the package) rather than Pro's template, which cannot
            # stitch these networks' outputs; ModelExtension.from_model still loads the package.
            fields["InferenceFunction"] = PIXEL_FUNCTION_FILE
            fields["IsEdgeDetection"] = False
    if not (imagenet and bands == 3):
        fields["Bands"] = band_names(export_band_names, bands)
        fields["ImageryType"] = "ms"
    return fields


def support_files(emd: dict[str, Any]) -> dict[str, bytes]:
    """Files the emd references that Rasterlab provides (name -> content)."""
    files = {}
    if emd.get("ModelConfigurationFile") == MODEL_CONFIGURATION_FILE and (
        emd.get("ModelFileConfigurationClass") == MODEL_CONFIGURATION_CLASS
    ):
        files[MODEL_CONFIGURATION_FILE] = (SCRIPTS_DIR / MODEL_CONFIGURATION_FILE).read_bytes()
        if emd.get("InferenceFunction") == PIXEL_FUNCTION_FILE:
            files[PIXEL_FUNCTION_FILE] = (SCRIPTS_DIR / PIXEL_FUNCTION_FILE).read_bytes()
    return files


def write_support_files(model_dir: Path, emd: dict[str, Any]) -> list[Path]:
    """Write `support_files(emd)` into a model folder; returns the paths written."""
    written = []
    for name, content in support_files(emd).items():
        path = Path(model_dir) / name
        path.write_bytes(content)
        written.append(path)
    return written
