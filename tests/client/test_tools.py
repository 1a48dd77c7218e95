"""The client's tool calls become the job params the server declares (no server needed)."""
from __future__ import annotations

from rasterlab_client import Collection, Layer, Model, Raster, Rasterlab
from rasterlab_client.http import Http


class Recorder(Rasterlab):
    """Records start_job instead of posting."""

    def __init__(self) -> None:
        super().__init__("http://rasterlab.invalid", token="t", project=7, progress=False)
        self.started: list = []

    def start_job(self, kind, params, project=None):
        self.started.append((kind, params, project))
        raise SystemExit  # stop before waiting


def call(method, *args, **kwargs):
    client = Recorder()
    try:
        getattr(client, method)(*args, **kwargs)
    except SystemExit:
        pass
    return client.started[0]


def item(cls, pk, project=3):
    return cls(Http("http://rasterlab.invalid", "t"), {"id": pk, "project": project})


def test_inputs_become_ids_and_model_arguments_go_in_arguments():
    kind, params, project = call("detect_objects", item(Raster, 5), item(Model, 9, project=1), threshold=0.3,
                                 batch_size=None, run_nms=True)
    assert kind == "detect_objects" and project == 3  # the raster's project
    assert params == {"in_raster": 5, "in_model": 9, "run_nms": True, "max_overlap_ratio": 0.0,
                      "class_agnostic": False, "part_size": 4096, "processor_type": "CPU",
                      "arguments": {"threshold": 0.3}}


def test_a_list_is_in_rasters_and_a_collection_in_collection():
    assert call("classify_pixels", [item(Raster, 5), 6], 9)[1]["in_rasters"] == [5, 6]
    assert call("detect_objects", item(Collection, 4), 9)[1]["in_collection"] == 4
    kind, params, project = call("export_training_data", item(Collection, 4), 2, metadata_format="COCO")
    assert params["in_collection"] == 4 and params["in_layer"] == 2 and "in_rasters" not in params
    assert project == 3


def test_none_means_the_servers_default_and_ids_pass_through():
    kind, params, project = call("train_model", 11, "RetinaNet", pretrained_model=item(Model, 2))
    assert project == 7 and params["in_dataset"] == 11 and params["pretrained_model"] == 2
    assert "learning_rate" not in params and "backbone_model" not in params
    assert call("non_max_suppression", item(Layer, 8), max_overlap_ratio=0.5)[1] == {
        "in_layer": 8, "max_overlap_ratio": 0.5, "class_agnostic": False}
