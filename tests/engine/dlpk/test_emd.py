from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from backend.engine.dlpk import (
    CellSize,
    EmdClass,
    class_index_to_value,
    emd_to_dict,
    emd_to_json,
    parse_emd,
)
from backend.engine.dlpk.emd import Emd
from backend.engine.dlpk.emd_fields import FIELDS
from backend.engine.errors import EngineInputError
from tests.engine.dlpk.samples import ARCGIS_EMDS, ESRI_DIR, REAL_EMDS, maskrcnn_emd, unet_emd


def test_real_samples_are_present() -> None:
    names = {p.name for p in REAL_EMDS}
    assert len(names) == 9
    assert "esri-rdl_CustomPRF_TextSAM.emd" in names
    assert "export_PascalVOC_plam_esri_model_definition.emd" in names


@pytest.mark.parametrize("path", REAL_EMDS, ids=lambda p: p.name)
def test_real_emd_round_trips_unchanged(path: Path) -> None:
    original = json.loads(path.read_text(encoding="utf-8"))
    emd = parse_emd(path.read_bytes())
    written = emd_to_dict(emd)
    assert written == original
    assert list(written) == list(original)  # key order kept
    assert parse_emd(emd_to_json(emd)) == emd


@pytest.mark.parametrize("name", sorted(ARCGIS_EMDS))
def test_arcgis_shaped_emd_round_trips(name: str) -> None:
    original = ARCGIS_EMDS[name]()
    emd = parse_emd(json.dumps(original))
    assert emd_to_dict(emd) == original
    again = parse_emd(emd_to_json(emd))
    assert again == emd
    assert again.extras == {"monitored_valid_loss": 0.4213}


def test_every_field_spec_names_an_emd_attribute() -> None:
    attrs = set(Emd.__dataclass_fields__)
    assert {spec.attr for spec in FIELDS} <= attrs
    assert len({spec.key for spec in FIELDS}) == len(FIELDS)


def test_typed_fields_of_a_maskrcnn_emd() -> None:
    emd = parse_emd(maskrcnn_emd())
    assert emd.model_type == "InstanceDetection"
    assert emd.model_name == "MaskRCNN"
    assert emd.model_configuration_name == "_maskrcnn_inferencing"
    assert emd.image_height == 512 and emd.image_width == 512
    assert emd.extract_bands == (0, 1, 2)
    assert emd.classes == (EmdClass(1, "Building", (255, 0, 0)),)
    assert emd.backbone_name == "resnet50"
    assert emd.min_cell_size == CellSize(0.3, 0.3, 102100, 3857)
    assert emd.supports_variable_tile_size is True
    assert emd.average_precision_score == {"Building": 0.7312}
    assert emd.maskrcnn_kwargs == {}


def test_metrics_of_a_pixel_classifier() -> None:
    emd = parse_emd(unet_emd())
    assert emd.accuracy == pytest.approx(0.95355)
    assert emd.per_class_metrics is not None
    assert emd.per_class_metrics["Water"]["f1"] == 0.65
    assert emd.ignore_mapped_class == ()
    changed = emd_to_dict(emd.with_changes(accuracy=0.5))
    assert changed["accuracy"] == "5.0000e-01"  # arcgis.learn's string form
    assert changed["per_class_metrics"] == unet_emd()["per_class_metrics"]


def test_model_configuration_object_is_kept() -> None:
    emd = parse_emd((ESRI_DIR / "esri-rdl_KerasMaskRCNN_mask_rcnn.emd").read_bytes())
    assert emd.model_configuration == {
        "Name": "MaskRCNN", "Architecture": ".\\mrcnn\\spacenet", "Config": ".\\mrcnn\\spacenet",
    }
    assert emd.model_configuration_name == "MaskRCNN"
    assert emd.model_file == ".\\mask_rcnn_spacenet_0053.h5"


def test_export_template_placeholders_read_as_none_and_survive() -> None:
    path = ESRI_DIR / "export_ClassifiedTiles_daremitsu_esri_model_definition.emd"
    emd = parse_emd(path.read_text())
    assert emd.framework is None and emd.model_type is None and emd.model_file is None
    assert emd.image_height is None and emd.extract_bands is None and emd.batch_size is None
    assert emd.data_range is None and emd.model_padding is None
    assert emd.model_configuration == "some description"  # free text, not a placeholder
    assert [c.color for c in emd.classes] == [None, None]  # [-1,-1,-1] = unknown
    assert "PerProcessGPUMemoryFraction" in emd.extras
    # Filling in a value replaces the placeholder; the rest stays as it was.
    written = emd_to_dict(emd.with_changes(image_height=256))
    assert written["ImageHeight"] == 256
    assert written["ImageWidth"] == "e.g. 256"
    assert written["Classes"][0]["Color"] == [-1, -1, -1]


def test_numbers_given_as_strings() -> None:
    emd = parse_emd({"ImageHeight": "256", "ImageWidth": " 256.0 ", "Threshold": "0.4",
                     "BatchSize": "8", "CropSizeFixed": "1", "ExtractBands": ["2", "1", 0],
                     "Classes": [{"Value": "3", "Name": 7}]})
    assert emd.image_height == 256 and emd.image_width == 256
    assert emd.threshold == 0.4 and emd.batch_size == 8 and emd.crop_size_fixed is True
    assert emd.extract_bands == (2, 1, 0)
    assert emd.classes == (EmdClass(3, "7"),)
    assert emd_to_dict(emd)["ImageHeight"] == "256"  # unchanged: written as given


def test_band_names_in_extract_bands() -> None:
    assert parse_emd({"ExtractBands": ["Red", "Green", 2]}).extract_bands == ("Red", "Green", 2)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ImageHeight": "big"}, "ImageHeight must be a whole number"),
        ({"ImageHeight": 12.5}, "ImageHeight must be a whole number"),
        ({"Threshold": True}, "Threshold must be a number"),
        ({"Classes": {"Value": 1}}, "Classes must be a list"),
        ({"Classes": [{"Name": "x"}]}, "Classes[0] needs a whole-number Value"),
        ({"Classes": [{"Value": 1, "Color": [300, 0, 0]}]}, "Classes[0].Color"),
        ({"ModelParameters": [1]}, "ModelParameters must be an object"),
        ({"MinCellSize": {"x": 1}}, "MinCellSize must be an object"),
        ({"SupportsVariableTileSize": "maybe"}, "SupportsVariableTileSize must be true/false"),
        ({"per_class_metrics": "{not json"}, "per_class_metrics must be a JSON object"),
    ],
)
def test_wrong_types_name_the_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(EngineInputError) as err:
        parse_emd(data)
    assert message in str(err.value)


def test_invalid_json_says_where() -> None:
    with pytest.raises(EngineInputError, match=r"not valid JSON: .* line 3 column"):
        parse_emd('{\n  "ModelType": "ObjectDetection",\n  "ImageHeight": ,\n}')
    with pytest.raises(EngineInputError, match="JSON object"):
        parse_emd("[1, 2]")
    with pytest.raises(EngineInputError, match="UTF-8"):
        parse_emd(b'{"Name": "\xff"}')


def test_utf8_bom_is_accepted() -> None:
    assert parse_emd(b'\xef\xbb\xbf{"ModelType": "ObjectDetection"}').model_type == (
        "ObjectDetection"
    )


def test_class_value_keys_are_read_and_kept() -> None:
    data = {"ModelType": "ObjectDetection",
            "Classes": [{"ClassValue": 1, "ClassName": "Palm"}, {"ClassValue": 2}]}
    emd = parse_emd(data)
    assert emd.classes == (EmdClass(1, "Palm"), EmdClass(2, "2"))
    assert emd.class_key_style == "ClassValue"
    assert emd_to_dict(emd) == data
    added = emd.with_changes(classes=(*emd.classes, EmdClass(5, "Tent", (1, 2, 3))))
    written = emd_to_dict(added)["Classes"]
    assert written[:2] == data["Classes"]
    assert written[2] == {"ClassValue": 5, "ClassName": "Tent", "Color": [1, 2, 3]}
    restyled = emd_to_dict(emd.with_changes(class_key_style="Value"))["Classes"]
    assert restyled[0] == {"Value": 1, "Name": "Palm", "Color": [-1, -1, -1]}


def test_edits_are_written_in_place_and_new_keys_appended() -> None:
    original = maskrcnn_emd()
    emd = parse_emd(original)
    renamed = (EmdClass(1, "House", (255, 0, 0)),)
    edited = emd.with_changes(
        classes=renamed, description="Tents in camps", image_height=None,
        argument_defaults={"threshold": 0.6}, min_cell_size=CellSize(0.1, 0.2, 32617),
        extras={**emd.extras, "Note": "x"},
    )
    written = emd_to_dict(edited)
    assert "ImageHeight" not in written
    assert written["Classes"] == [{"Value": 1, "Name": "House", "Color": [255, 0, 0]}]
    assert written["MinCellSize"] == {"x": 0.1, "y": 0.2, "spatialReference": {"wkid": 32617}}
    assert list(written)[-3:] == ["ArgumentDefaults", "Description", "Note"]
    assert list(written)[: len(original) - 1] == [k for k in original if k != "ImageHeight"]
    again = parse_emd(emd_to_json(edited))
    assert again == edited
    assert again.argument_defaults == {"threshold": 0.6}


def test_flags_keep_their_form() -> None:
    emd = parse_emd({"CropSizeFixed": 1, "BlackenAroundFeature": False})
    written = emd_to_dict(emd.with_changes(crop_size_fixed=False, blacken_around_feature=True))
    assert written == {"CropSizeFixed": 0, "BlackenAroundFeature": True}


def test_emd_built_from_scratch() -> None:
    emd = Emd(
        framework="arcgis.learn.models._inferencing", model_type="ObjectDetection",
        model_name="FasterRCNN", model_file="m.pth", image_height=256, image_width=256,
        extract_bands=(0, 1, 2), classes=(EmdClass(1, "Tree"),),
        model_parameters={"backbone": "resnet50", "rasterlab_arch": "fasterrcnn_resnet50_fpn"},
    )
    text = emd_to_json(emd)
    assert text.startswith('{\n    "Framework"')  # 4-space indent like arcgis.learn
    data = json.loads(text)
    assert data["Classes"] == [{"Value": 1, "Name": "Tree", "Color": [-1, -1, -1]}]
    assert parse_emd(text) == emd
    assert emd.rasterlab_arch == "fasterrcnn_resnet50_fpn"


def test_class_index_to_value() -> None:
    detector = parse_emd({"ModelType": "ObjectDetection",
                          "Classes": [{"Value": 3, "Name": "a"}, {"Value": 7, "Name": "b"}]})
    assert class_index_to_value(detector) == (0, 3, 7)
    classifier = detector.with_changes(model_type="ObjectClassification")
    assert class_index_to_value(classifier) == (3, 7)
