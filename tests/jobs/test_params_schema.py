"""Job params declared once (issue 19): the declaration is the schema of POST /api/jobs/ (one per
kind, discriminated on ``kind``) and fills defaults; its fields are strict about JSON types."""
from __future__ import annotations

import pytest

from apps.jobs.params import Flag, Id, IdList, JobParams, Number, Whole
from apps.jobs.registry import get_kind
from backend.api.exceptions import InvalidInput

PUBLIC = ["classify_objects", "classify_pixels", "compute_accuracy", "detect_objects", "export_training_data",
          "non_max_suppression", "train_model"]


class Sample(JobParams):
    count = Whole(min_value=1, max_value=10, default=3)
    ratio = Number(min_value=0.0, max_value=1.0, above=True, default=None)
    strict = Flag(default=False)
    lenient = Flag(lenient=True, default=False)
    ref = Id()
    refs = IdList(what="raster", max_length=3, required=False)


@pytest.mark.parametrize("params, expected", [
    ({"ref": 1}, {"ref": 1, "count": 3, "ratio": None, "strict": False, "lenient": False}),
    ({"ref": 1, "count": None},
     {"ref": 1, "count": 3, "ratio": None, "strict": False, "lenient": False}),
    ({"ref": 1, "count": 2.0, "lenient": "false", "refs": 5}, {"count": 2, "lenient": False, "refs": [5]}),
    ({"ref": 1, "refs": [4, 4, 2]}, {"refs": [4, 2]}),
])
def test_defaults_are_filled_and_json_numbers_accepted(params, expected):
    cleaned = Sample.clean(params, ctx=None)
    assert {k: cleaned[k] for k in expected} == expected


@pytest.mark.parametrize("params, field", [
    ({}, "params.ref: is required."),
    ({"ref": True}, "params.ref: must be an id"),
    ({"ref": 1, "count": "4"}, "params.count: must be a whole number from 1 to 10"),
    ({"ref": 1, "count": 11}, "params.count"),
    ({"ref": 1, "ratio": 0}, "params.ratio: must be a number above 0.0 up to 1.0"),
    ({"ref": 1, "ratio": float("nan")}, "params.ratio: must be a number"),
    ({"ref": 1, "strict": "yes"}, "params.strict: must be true or false"),
    ({"ref": 1, "lenient": "perhaps"}, "params.lenient: must be true or false"),
    ({"ref": 1, "refs": [1, 2, 3, 4]}, "params.refs: must be a list of 1 to 3 raster ids"),
    ({"ref": 1, "colour": "red"}, "params.colour: unknown parameter; expected some of count, lenient"),
    ([1], "params: must be a JSON object."),
])
def test_bad_params_name_the_field(params, field):
    with pytest.raises(InvalidInput) as caught:
        Sample.clean(params, ctx=None)
    assert caught.value.detail.startswith(field), caught.value.detail


@pytest.mark.django_db
def test_schema_has_one_request_per_kind_discriminated_on_kind(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    components = schema["components"]["schemas"]

    def resolve(prop):
        ref = prop.get("$ref") or (prop.get("allOf") or [{}])[0].get("$ref")
        return components[ref.rsplit("/", 1)[1]] if ref else prop

    body = schema["paths"]["/api/jobs/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    union = components[body["$ref"].rsplit("/", 1)[1]]
    mapping = union["discriminator"]["mapping"]
    assert union["discriminator"]["propertyName"] == "kind"
    assert set(PUBLIC) <= set(mapping) and "inference_part" not in mapping and "ingest_raster" not in mapping
    for name in PUBLIC:
        request = components[mapping[name].rsplit("/", 1)[1]]
        assert resolve(request["properties"]["kind"])["enum"] == [name]
        params = resolve(request["properties"]["params"])
        declared = get_kind(name).params
        assert set(params["properties"]) == set(declared().fields), name
        for field, default in declared.defaults().items():
            if default is not None and not isinstance(default, dict):
                assert params["properties"][field].get("default") == default, (name, field)


def test_declared_defaults_follow_the_architecture_contract():
    train = get_kind("train_model").params.defaults()
    assert train["max_epochs"] == 20 and train["batch_size"] == 4 and train["stop_training"] is True
    assert train["processor_type"] == "CPU" and train["learning_rate"] is None
    export = get_kind("export_training_data").params.defaults()
    assert export["tile_size_x"] == 256 and export["image_chip_format"] == "TIFF"
    detect = get_kind("detect_objects").params.defaults()
    assert detect["run_nms"] is False and detect["max_overlap_ratio"] == 0.0
