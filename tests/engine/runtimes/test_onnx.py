"""ONNX packages: Rasterlab's own torchvision models exported with torch.onnx.export run through
the same engine (tiling, padding, batching, NMS, extent) and agree with the PyTorch package."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import torch

from backend.engine.dlpk.emd import parse_emd
from backend.engine.dlpk.families import model_family
from backend.engine.errors import EngineInputError
from backend.engine.inference.classify_pixels import ClassifyPixelsArgs
from backend.engine.inference.detect import DetectArgs
from backend.engine.inference.features import read_features
from backend.engine.inference.run import classify_pixels, detect_objects
from backend.engine.nets.predictor import load_predictor
from backend.engine.runtimes.export import BOX_TOLERANCE, PROB_TOLERANCE, SCORE_TOLERANCE, \
    compare_predictors, export_onnx_package, sample_chips
from backend.engine.runtimes.loader import load_any_predictor
from backend.engine.runtimes.onnx_model import OnnxPredictor, check_onnx_file
from tests.engine.runtimes.helpers import CHIP, torch_package

pytestmark = pytest.mark.slow
DATA = Path(__file__).resolve().parents[2] / "data"
RASTER = DATA / "OSBS_029.tif"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """name -> (torch folder, onnx folder), exported once per module."""
    root = tmp_path_factory.mktemp("onnx")
    done: dict[str, tuple[Path, Path]] = {}

    def get(name: str) -> tuple[Path, Path]:
        if name not in done:
            emd = torch_package(root / name / "torch", name)
            export_onnx_package(root / name / "torch", emd, root / name / "onnx", "model")
            done[name] = (root / name / "torch", root / name / "onnx")
        return done[name]

    return get


def _emd(folder: Path) -> Any:
    return parse_emd((folder / next(p.name for p in folder.glob("*.emd"))).read_bytes())


def _raster_window(tmp_path: Path, size: int = 160) -> Path:
    """The top-left size x size pixels of OSBS_029 (a real georeferenced RGB raster)."""
    out = tmp_path / "small.tif"
    with rasterio.open(RASTER) as src:
        window = rasterio.windows.Window(0, 0, size, size)
        profile = {**src.profile, "width": size, "height": size,
                   "transform": src.window_transform(window)}
        profile.pop("blockxsize", None), profile.pop("blockysize", None), profile.pop("tiled", None)
        with rasterio.open(out, "w", **profile) as dst:
            dst.write(src.read(window=window))
    return out


def test_detector_onnx_package_runs_like_pytorch(exported: Any, tmp_path: Path) -> None:
    torch_dir, onnx_dir = exported("FasterRCNN")
    emd = _emd(onnx_dir)
    assert emd.framework == "ONNX" and emd.model_file == "model.onnx"
    assert model_family(emd).runnable and model_family(emd).family == "object_detection"
    onnx_p = load_any_predictor(onnx_dir, emd)
    assert isinstance(onnx_p, OnnxPredictor) and onnx_p.one_chip
    sig = onnx_p.signature.to_json()
    assert sig["inputs"][0]["name"] == "images" and sig["inputs"][0]["shape"] == [1, 3, CHIP, CHIP]
    assert [o["name"] for o in sig["outputs"]] == ["boxes", "scores", "labels"]
    torch_p = load_predictor(torch_dir, _emd(torch_dir))
    prob, box = compare_predictors(torch_p, onnx_p, sample_chips(torch_p, 3, seed=1))
    assert prob <= SCORE_TOLERANCE and box <= BOX_TOLERANCE

    # the same tiled run (padding, batches of 4, extent = whole small raster, cross-tile NMS)
    raster = _raster_window(tmp_path)
    args = DetectArgs(padding=16, batch_size=4, threshold=0.3, nms_overlap=0.5)
    runs = {}
    for label, predictor in (("torch", torch_p), ("onnx", onnx_p)):
        out = tmp_path / f"{label}.ndjson"
        result = detect_objects(raster, predictor, args, out, run_nms=True, max_overlap_ratio=0.3,
                                part_size=2)
        runs[label] = (result, list(read_features(out)))
    (r_t, f_t), (r_o, f_o) = runs["torch"], runs["onnx"]
    assert r_t.features_out == r_o.features_out == len(f_o) > 0
    conf_t = sorted(f["properties"]["confidence"] for f in f_t)
    conf_o = sorted(f["properties"]["confidence"] for f in f_o)
    assert np.abs(np.array(conf_t) - np.array(conf_o)).max() <= SCORE_TOLERANCE


def test_pixel_classifier_onnx_package_classifies_like_pytorch(exported: Any, tmp_path: Path) -> None:
    torch_dir, onnx_dir = exported("UnetClassifier")
    onnx_p = load_any_predictor(onnx_dir, _emd(onnx_dir))
    assert isinstance(onnx_p, OnnxPredictor) and not onnx_p.one_chip  # dynamic batch
    assert onnx_p.signature.inputs[0].shape[0] == "batch"
    torch_p = load_predictor(torch_dir, _emd(torch_dir))
    raster = _raster_window(tmp_path, 128)
    args = ClassifyPixelsArgs(padding=16, batch_size=3)
    with rasterio.Env():
        classify_pixels(raster, torch_p, args, tmp_path / "torch.tif", part_size=2)
        classify_pixels(raster, onnx_p, args, tmp_path / "onnx.tif", part_size=2)
    with rasterio.open(tmp_path / "torch.tif") as a, rasterio.open(tmp_path / "onnx.tif") as b:
        same = (a.read(1) == b.read(1)).mean()
    assert same >= 0.999  # pixels where two classes tie within 1e-3 may differ


def test_object_classifier_onnx_package(exported: Any) -> None:
    torch_dir, onnx_dir = exported("FeatureClassifier")
    onnx_p = load_any_predictor(onnx_dir, _emd(onnx_dir))
    torch_p = load_predictor(torch_dir, _emd(torch_dir))
    chips = sample_chips(torch_p, 5)
    index, confidence = onnx_p.classify(onnx_p.prepare(chips))
    assert index.shape == (5,) and ((0 <= index) & (index < 2)).all()
    prob, _ = compare_predictors(torch_p, onnx_p, chips)
    assert prob <= PROB_TOLERANCE


def test_instance_masks_from_onnx(exported: Any) -> None:
    torch_dir, onnx_dir = exported("MaskRCNN")
    onnx_p = load_any_predictor(onnx_dir, _emd(onnx_dir))
    assert [o.name for o in onnx_p.signature.outputs] == ["boxes", "scores", "labels", "masks"]
    torch_p = load_predictor(torch_dir, _emd(torch_dir))
    chips = sample_chips(torch_p, 1)
    det = onnx_p.detect(onnx_p.prepare(chips), 0.0, 0.5)[0]
    ref = torch_p.detect(torch_p.prepare(chips), 0.0, 0.5)[0]
    assert det.masks is not None and det.masks.shape[1:] == (CHIP, CHIP) and det.masks.dtype == bool
    assert len(det.scores) == len(det.masks)
    prob, box = compare_predictors(torch_p, onnx_p, chips)
    assert prob <= SCORE_TOLERANCE and box <= BOX_TOLERANCE
    assert len(ref.scores) > 0


# --- refusals: the file against its .emd, naming both sides ------------------------------------
def _variant(onnx_dir: Path, tmp_path: Path, **changes: Any) -> Path:
    folder = tmp_path / "variant"
    shutil.copytree(onnx_dir, folder)
    emd_path = folder / "model.emd"
    data = json.loads(emd_path.read_text())
    data.update(changes)
    emd_path.write_text(json.dumps(data))
    return folder


@pytest.mark.parametrize("changes, words", [
    ({"ExtractBands": [0, 1, 2, 3]}, ["takes 3 bands", "ExtractBands lists 4"]),
    ({"ImageHeight": 128, "ImageWidth": 128}, ["height 64", "ImageHeight/ImageWidth is 128"]),
    ({"Classes": [{"Value": 1, "Name": "a"}, {"Value": 2, "Name": "b"}, {"Value": 3, "Name": "c"},
                  {"Value": 4, "Name": "d"}]}, ["3 class channels", "lists 4 Classes"]),
    ({"ModelIO": {"outputs": {"logits": "nope"}}}, ["'nope'", "outputs are logits"]),
])
def test_shapes_that_do_not_fit_the_emd_are_refused(
    exported: Any, tmp_path: Path, changes: dict[str, Any], words: list[str]
) -> None:
    _, onnx_dir = exported("UnetClassifier")
    folder = _variant(onnx_dir, tmp_path, **changes)
    with pytest.raises(EngineInputError) as err:
        load_any_predictor(folder, _emd(folder))
    for word in words:
        assert word in str(err.value)


def test_custom_operators_external_data_and_garbage_are_refused(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])
    custom = helper.make_model(helper.make_graph([helper.make_node("Evil", ["x"], ["y"], domain="my.ops")],
                                                 "g", [x], [y]),
                               opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("my.ops", 1)])
    onnx.save_model(custom, tmp_path / "custom.onnx")
    with pytest.raises(EngineInputError, match="custom operators \\(my.ops\\)"):
        check_onnx_file(tmp_path / "custom.onnx")

    weight = numpy_helper.from_array(np.ones((1, 3, 8, 8), np.float32), "w")
    plain = helper.make_model(helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x], [y],
                                                initializer=[weight]),
                              opset_imports=[helper.make_opsetid("", 17)])
    onnx.save_model(plain, tmp_path / "ext.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    with pytest.raises(EngineInputError, match="external files"):
        check_onnx_file(tmp_path / "ext.onnx")

    (tmp_path / "junk.onnx").write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(EngineInputError, match="not an ONNX model|not a valid ONNX model"):
        check_onnx_file(tmp_path / "junk.onnx")


def test_detection_outputs_are_named_in_the_emd_or_the_metadata(exported: Any, tmp_path: Path) -> None:
    """Outputs named otherwise: the .emd's ModelIO.outputs says which is which."""
    import onnx

    _, onnx_dir = exported("FasterRCNN")
    folder = tmp_path / "renamed"
    shutil.copytree(onnx_dir, folder)
    model = onnx.load(str(folder / "model.onnx"))
    del model.metadata_props[:]
    renames = {"boxes": "out_b", "scores": "out_s", "labels": "out_l"}
    for node in model.graph.node:
        node.output[:] = [renames.get(o, o) for o in node.output]
    for out in model.graph.output:
        out.name = renames[out.name]
    onnx.save_model(model, str(folder / "model.onnx"))
    data = json.loads((folder / "model.emd").read_text())
    data.pop("ModelIO")
    (folder / "model.emd").write_text(json.dumps(data))
    with pytest.raises(EngineInputError, match="cannot find boxes, scores, labels among out_b, out_s, out_l"):
        load_any_predictor(folder, _emd(folder))
    data["ModelIO"] = {"outputs": {"boxes": "out_b", "scores": "out_s", "labels": "out_l"}}
    (folder / "model.emd").write_text(json.dumps(data))
    predictor = load_any_predictor(folder, _emd(folder))
    chips = sample_chips(predictor, 1)
    assert len(predictor.detect(predictor.prepare(chips), 0.0, 0.5)[0].scores) > 0


def test_torchscript_runs_only_when_allowed(tmp_path: Path) -> None:
    from backend.engine.nets import build_model
    from backend.engine.runtimes.torchscript_model import TorchScriptPredictor
    from tests.engine.runtimes.helpers import torch_emd

    torch.manual_seed(0)
    model = build_model("UnetClassifier", "resnet18", 2, 3, CHIP, pretrained_backbone=False).eval()
    traced = torch.jit.trace(model, torch.rand(1, 3, CHIP, CHIP))
    torch.jit.save(traced, str(tmp_path / "model.pt"))
    emd_dict = torch_emd("UnetClassifier", Framework="TorchScript", ModelFile="model.pt")
    emd_dict.pop("ModelParameters")
    (tmp_path / "model.emd").write_text(json.dumps(emd_dict))
    emd = parse_emd(emd_dict)
    assert model_family(emd).runnable
    with pytest.raises(EngineInputError, match="TorchScript packages are turned off"):
        load_any_predictor(tmp_path, emd)
    predictor = load_any_predictor(tmp_path, emd, allow_torchscript=True)
    assert isinstance(predictor, TorchScriptPredictor)
    chips = np.random.default_rng(0).integers(0, 255, (2, 3, CHIP, CHIP)).astype(np.uint8)
    probs = predictor.segment(predictor.prepare(chips))
    with torch.inference_mode():
        ref = torch.softmax(model(predictor.prepare(chips)), 1).numpy()
    assert probs.shape == (2, 3, CHIP, CHIP) and np.abs(probs - ref).max() < 1e-5
    bad = parse_emd({**emd_dict, "ExtractBands": [0, 1, 2, 3]})
    with pytest.raises(EngineInputError, match="4 bands \\(from the .emd\\)"):
        load_any_predictor(tmp_path, bad, allow_torchscript=True)
