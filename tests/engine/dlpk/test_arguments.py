from __future__ import annotations

from typing import Any

import pytest

from backend.engine.dlpk import (
    ArgumentSpec,
    coerce_arguments,
    inference_arguments,
    parse_emd,
)
from backend.engine.errors import EngineInputError
from tests.engine.dlpk.samples import (
    ESRI_DIR,
    fasterrcnn_emd,
    feature_classifier_emd,
    maskrcnn_emd,
    unet_emd,
)


def _defaults(emd: dict[str, Any]) -> dict[str, Any]:
    return {spec.name: spec.default for spec in inference_arguments(parse_emd(emd))}


def test_maskrcnn_defaults() -> None:
    assert _defaults(maskrcnn_emd()) == {
        "padding": 128, "batch_size": 4, "threshold": 0.9, "return_bboxes": False,
        "test_time_augmentation": False, "merge_policy": "mean", "tile_size": 512,
    }
    specs = {s.name: s for s in inference_arguments(parse_emd(maskrcnn_emd()))}
    assert specs["merge_policy"] == ArgumentSpec(
        "merge_policy", "choice", "mean", specs["merge_policy"].description,
        choices=("mean", "max", "min"),
    )
    assert (specs["threshold"].minimum, specs["threshold"].maximum) == (0.0, 1.0)
    assert specs["padding"].maximum == 255


def test_fasterrcnn_defaults() -> None:
    assert _defaults(fasterrcnn_emd(ImageHeight=400)) == {
        "padding": 100, "threshold": 0.5, "nms_overlap": 0.1, "batch_size": 64,
        "exclude_pad_detections": True, "test_time_augmentation": False,
    }


def test_yolo_defaults() -> None:
    emd = fasterrcnn_emd(ModelName="YOLOv3", ModelConfiguration="_yolov3_inference")
    defaults = _defaults(emd)
    assert (defaults["threshold"], defaults["batch_size"]) == (0.1, 4)


def test_unet_defaults_and_predict_background_rule() -> None:
    assert _defaults(unet_emd(ImageHeight=256)) == {
        "padding": 64, "batch_size": 4, "predict_background": False,
        "test_time_augmentation": False, "tile_size": 256,
    }
    with_zero = unet_emd(Classes=[{"Value": 0, "Name": "Other"}, {"Value": 1, "Name": "Water"}])
    assert _defaults(with_zero)["predict_background"] is True
    single = unet_emd(Classes=[{"Value": 1, "Name": "Water"}])
    assert _defaults(single)["predict_background"] is True


def test_feature_classifier_defaults() -> None:
    assert _defaults(feature_classifier_emd()) == {
        "batch_size": 4, "test_time_augmentation": False,
    }
    multi = _defaults(feature_classifier_emd(MetaDataMode="MultiLabeled_Tiles"))
    assert multi["threshold"] == 0.5


def test_batch_size_in_emd_fixes_and_hides_it() -> None:
    emd = parse_emd(feature_classifier_emd(BatchSize=16))
    assert "batch_size" not in {s.name for s in inference_arguments(emd)}
    assert coerce_arguments(emd, {})["batch_size"] == 16
    assert coerce_arguments(emd, {"batch_size": "16"})["batch_size"] == 16
    with pytest.raises(EngineInputError, match="batch_size is fixed to 16"):
        coerce_arguments(emd, {"batch_size": 8})


def test_emd_keys_and_argument_defaults_override() -> None:
    emd = maskrcnn_emd(Threshold=0.7, test_time_augmentation=True)
    assert (_defaults(emd)["threshold"], _defaults(emd)["test_time_augmentation"]) == (0.7, True)
    edited = maskrcnn_emd(Threshold=0.7, ArgumentDefaults={
        "threshold": 0.3, "padding": "64", "merge_policy": "MAX", "batch_size": 0,
        "not_an_argument": 1,
    })
    defaults = _defaults(edited)
    assert defaults["threshold"] == 0.3  # ArgumentDefaults win over emd keys
    assert defaults["padding"] == 64
    assert defaults["merge_policy"] == "max"
    assert defaults["batch_size"] == 4  # an invalid stored default is ignored


def test_real_custom_prf_padding_and_threshold_are_defaults() -> None:
    emd = parse_emd((ESRI_DIR / "esri-rdl_CustomPRF_DraftTemplateEMD.emd").read_bytes())
    defaults = {s.name: s.default for s in inference_arguments(emd)}
    assert defaults["padding"] == 0 and defaults["threshold"] == 0.5
    assert "batch_size" not in defaults  # BatchSize 64 in the emd


def test_no_arguments_without_a_family() -> None:
    emd = parse_emd((ESRI_DIR / "export_PascalVOC_plam_esri_model_definition.emd").read_bytes())
    assert inference_arguments(emd) == []
    with pytest.raises(EngineInputError, match="it takes: none"):
        coerce_arguments(emd, {"padding": 1})


def test_coerce_fills_defaults_and_converts_strings() -> None:
    emd = parse_emd(maskrcnn_emd())
    assert coerce_arguments(emd, {}) == _defaults(maskrcnn_emd())
    out = coerce_arguments(emd, {"threshold": "0.25", "return_bboxes": "True",
                                 "batch_size": 9.0, "merge_policy": "Min", "padding": " 32 "})
    assert out["threshold"] == 0.25 and out["return_bboxes"] is True
    assert out["batch_size"] == 9 and out["merge_policy"] == "min" and out["padding"] == 32


def test_padding_follows_tile_size() -> None:
    emd = parse_emd(maskrcnn_emd())
    assert coerce_arguments(emd, {"tile_size": 256})["padding"] == 64
    assert coerce_arguments(emd, {"tile_size": 256, "padding": 127})["padding"] == 127
    with pytest.raises(EngineInputError, match=r"padding must be between 0 and 127, got 128"):
        coerce_arguments(emd, {"tile_size": 256, "padding": 128})
    stored = parse_emd(maskrcnn_emd(ArgumentDefaults={"padding": 100}))
    assert coerce_arguments(stored, {})["padding"] == 100
    assert coerce_arguments(stored, {"tile_size": 300})["padding"] == 100
    assert coerce_arguments(stored, {"tile_size": 128})["padding"] == 32  # 100 does not fit


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"threshold": 1.5}, "threshold must be between 0 and 1, got 1.5"),
        ({"threshold": "high"}, "threshold must be a number"),
        ({"threshold": float("nan")}, "threshold must be a number"),
        ({"padding": -1}, "padding must be between 0 and 255"),
        ({"padding": 2.5}, "padding must be a whole number"),
        ({"batch_size": 0}, "batch_size must be between 1 and 1024, got 0"),
        ({"batch_size": True}, "batch_size must be a whole number"),
        ({"return_bboxes": "perhaps"}, "return_bboxes must be true or false"),
        ({"merge_policy": "median"}, "merge_policy must be one of mean, max, min"),
        ({"tile_size": 0}, "tile_size must be between 1 and 8192, got 0"),
        ({"nms_overlap": 0.2}, "unknown argument 'nms_overlap' for this model; it takes: padding"),
    ],
)
def test_coerce_rejects_bad_values_naming_the_argument(given: dict[str, Any], message: str) -> None:
    with pytest.raises(EngineInputError) as err:
        coerce_arguments(parse_emd(maskrcnn_emd()), given)
    assert message in str(err.value)
