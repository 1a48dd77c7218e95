"""ONNX packages: the file is checked (onnx.checker, standard operator sets only, weights inside
the file) before ONNX Runtime opens it; nothing in it can run code (no custom-op libraries are
ever registered). CUDA is used where ONNX Runtime has it and the job asks for a GPU."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from backend.engine.dlpk.emd import Emd
from backend.engine.errors import EngineInputError
from backend.engine.runtimes.modelio import resolve_io
from backend.engine.runtimes.predictor import PackageShape, RuntimePredictor
from backend.engine.runtimes.signature import ModelSignature, TensorInfo, check_input, check_outputs

# Operator sets ONNX Runtime implements itself; anything else would need a custom-op library.
ALLOWED_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "com.microsoft"})
MAX_ONNX_BYTES = 2 * 1024**3  # protobuf's own limit


def check_onnx_file(path: Path) -> tuple[int | None, str]:
    """Refuse what is not a plain, standard ONNX model; EngineInputError says what is wrong.
    Returns (default-domain opset, producer)."""
    import onnx
    from onnx import external_data_helper

    size = path.stat().st_size
    if size > MAX_ONNX_BYTES:
        raise EngineInputError(f"{path.name} is larger than 2 GB")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf raises its own DecodeError types
        raise EngineInputError(f"{path.name} is not an ONNX model: {str(exc)[:200]}") from None
    if any(external_data_helper.uses_external_data(t)
           for t in external_data_helper._get_all_tensors(model)):
        raise EngineInputError(
            f"{path.name} keeps weights in external files; export with the weights inside the .onnx "
            "(torch.onnx.export(..., external_data=False), or onnx.save_model(..., save_as_external_data=False))"
        )
    local = {f.domain for f in model.functions}
    odd = sorted({str(getattr(n, "domain")) for n in _nodes(model)} - ALLOWED_DOMAINS - local)
    odd += sorted({o.domain for o in model.opset_import} - ALLOWED_DOMAINS - local)
    if odd:
        raise EngineInputError(
            f"{path.name} uses custom operators ({', '.join(sorted(set(odd)))}); Rasterlab runs standard "
            "ONNX operators only"
        )
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # noqa: BLE001 - onnx.checker.ValidationError and friends
        raise EngineInputError(f"{path.name} is not a valid ONNX model: {str(exc).splitlines()[0][:300]}") from None
    opset = next((int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    return opset, producer


def _nodes(model: object) -> list[object]:
    graph = getattr(model, "graph")
    out = []
    stack = [graph]
    while stack:
        g = stack.pop()
        for node in g.node:
            out.append(node)
            for attr in node.attribute:
                if attr.g is not None and len(attr.g.node):
                    stack.append(attr.g)
                stack.extend(sub for sub in attr.graphs)
    for f in getattr(model, "functions"):
        out.extend(f.node)
    return out


def _providers(device: str) -> list[str]:
    import onnxruntime as ort

    if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def _info(arg: object) -> TensorInfo:
    shape = tuple(d if isinstance(d, (int, str)) or d is None else str(d) for d in (getattr(arg, "shape") or ()))
    return TensorInfo(str(getattr(arg, "name")), shape, str(getattr(arg, "type")))


class OnnxPredictor(RuntimePredictor):
    """An ONNX Runtime session behind the engine's predictor protocol."""

    def __init__(self, path: Path, emd: Emd, device: str = "cpu") -> None:
        import onnxruntime as ort

        opset, producer = check_onnx_file(path)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=_providers(device))
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise EngineInputError(f"ONNX Runtime cannot open {path.name}: {str(exc)[:300]}") from None
        inputs = [_info(i) for i in self.session.get_inputs()]
        outputs = [_info(o) for o in self.session.get_outputs()]
        meta = dict(self.session.get_modelmeta().custom_metadata_map)
        io = resolve_io(emd, [i.name for i in inputs], [o.name for o in outputs], meta)
        shape = PackageShape.from_emd(emd)
        image = next(i for i in inputs if i.name == io.input)
        check_input(image, shape)
        check_outputs({o.name: o for o in outputs}, dict(io.outputs), io.family, len(shape.classes))
        super().__init__(io, shape, self.scaling_for(emd))
        boxes = next((o for o in outputs if o.name == io.outputs.get("boxes")), None)
        self.one_chip = image.shape[0] == 1 or (boxes is not None and len(boxes.shape) == 2)
        self.input_type = np.float16 if image.type == "tensor(float16)" else np.float32
        self.signature = ModelSignature("onnx", tuple(inputs), tuple(outputs), io.to_json(), opset, producer)

    def _run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        names = list(self.io.outputs.values())
        values = self.session.run(names, {str(self.io.input): x.astype(self.input_type, copy=False)})
        return {name: np.asarray(v) for name, v in zip(names, values)}

