"""classify_objects takes the package's crop settings (CropSizeFixed / BlackenAroundFeature)."""
from __future__ import annotations

from apps.models.inference.services import classify_objects_args


def test_package_crop_settings_reach_classify_objects() -> None:
    emd = {"ModelName": "FeatureClassifier", "CropSizeFixed": 0, "BlackenAroundFeature": 1}
    args = classify_objects_args(emd, {"batch_size": 8})
    assert args.crop_size_fixed is False and args.blacken_around_feature is True and args.batch_size == 8
    default = classify_objects_args({"ModelName": "FeatureClassifier"}, {})
    assert default.crop_size_fixed is True and default.blacken_around_feature is False
    overridden = classify_objects_args(emd, {"blacken_around_feature": False})
    assert overridden.blacken_around_feature is False
