"""ONNX and TorchScript packages on the model page (issue 18): the inputs and outputs found in the
file, a TorchScript package's refusal reason, and "Export to ONNX" on a PyTorch model."""
from __future__ import annotations

import io
import json
import zipfile

import pytest

from tests.models.packages import feature_classifier

from .helpers import create_project, login

pytestmark = pytest.mark.e2e


def _zip(path, files: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _emd(framework: str, model_file: str) -> bytes:
    return json.dumps({
        "Framework": framework, "ModelType": "ImageClassification", "ModelFile": model_file,
        "ImageHeight": 64, "ImageWidth": 64, "ExtractBands": [0, 1, 2],
        "Classes": [{"Value": 1, "Name": "Water", "Color": [0, 0, 255]}, {"Value": 2, "Name": "Land", "Color": [0, 160, 0]}],
    }).encode()


def _tiny_onnx() -> bytes:
    """A 1x1 convolution from 3 bands to 3 class channels (background, Water, Land)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 64, 64])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3, 64, 64])
    w = numpy_helper.from_array(np.eye(3, dtype=np.float32).reshape(3, 3, 1, 1), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["images", "w"], ["logits"])], "tiny", [x], [y], initializer=[w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _upload(page, path) -> None:
    page.set_input_files("[data-testid=model-upload-file]", str(path))
    page.click("[data-testid=model-upload-submit]")


def test_model_page_shows_onnx_io_torchscript_reason_and_exports(page, live_app, tmp_path):
    login(page, live_app.owner)
    create_project(page, "E2E ONNX")
    page.click("[data-testid=tab-models]")
    page.wait_for_selector("[data-testid=models-empty]:not([hidden])")

    _upload(page, _zip(tmp_path / "water.dlpk", {"water.emd": _emd("ONNX", "water.onnx"), "water.onnx": _tiny_onnx()}))
    view = page.locator("[data-testid=model-view]")
    view.wait_for(timeout=60_000)
    assert view.locator("[data-testid=model-runnable]").inner_text() == "runnable"
    table = view.locator("[data-testid=model-io]")
    table.wait_for()
    text = table.inner_text()
    assert "images" in text and "[batch, 3, 64, 64]" in text and "logits" in text and "tensor(float)" in text
    assert view.locator("[data-testid=model-export-onnx]").count() == 0  # already ONNX

    # A file that does not fit its .emd: the server's reason names both sides.
    page.click("[data-testid=model-back]")
    _upload(page, _zip(tmp_path / "bands.dlpk", {"b.emd": _emd("ONNX", "b.onnx").replace(b"[0, 1, 2]", b"[0, 1, 2, 3]"),
                                                 "b.onnx": _tiny_onnx()}))
    error = page.locator("[data-testid=model-upload-error]")
    error.wait_for()
    assert "takes 3 bands" in error.inner_text() and "ExtractBands lists 4" in error.inner_text()

    _upload(page, _zip(tmp_path / "script.dlpk", {"s.emd": _emd("TorchScript", "s.pt"), "s.pt": b"PK not loaded"}))
    view.wait_for(timeout=60_000)
    page.wait_for_selector("[data-testid=model-title]:has-text('script')")
    assert view.locator("[data-testid=model-runnable]").inner_text() == "not runnable"
    assert "RASTERLAB_ALLOW_TORCHSCRIPT" in view.locator("[data-testid=model-runnable-reason]").inner_text()

    page.click("[data-testid=model-back]")
    _upload(page, feature_classifier(tmp_path / "Woolsey.dlpk"))
    page.wait_for_selector("[data-testid=model-title]:has-text('Woolsey')", timeout=60_000)
    page.click("[data-testid=model-export-onnx]")
    page.wait_for_selector("[data-testid=model-notice]:has-text('Export started')")
    assert page.console_errors == []
