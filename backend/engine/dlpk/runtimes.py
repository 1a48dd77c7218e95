"""Packages of other frameworks that Rasterlab runs through a runtime rather than rebuilding the
architecture: ONNX (onnxruntime) and TorchScript (torch.jit, only where an administrator allows
it). The .emd's Framework says which; ModelType says the family. See engine/runtimes/."""
from __future__ import annotations

from backend.engine.dlpk.emd import Emd

ONNX = "onnx"
TORCHSCRIPT = "torchscript"
_FRAMEWORKS = {"onnx": ONNX, "torchscript": TORCHSCRIPT}
_SUFFIXES = {ONNX: (".onnx",), TORCHSCRIPT: (".pt", ".pth", ".ts", ".torchscript", ".jit", ".zip")}

TORCHSCRIPT_REFUSED = (
    "TorchScript packages are turned off on this server: loading TorchScript can run code written "
    "by the model's author. An administrator can allow them (RASTERLAB_ALLOW_TORCHSCRIPT=1), or "
    "convert the model to ONNX (torch.onnx.export) and upload that"
)


def runtime_of(emd: Emd) -> str | None:
    """ONNX or TORCHSCRIPT from the .emd's Framework (any case), else None."""
    return _FRAMEWORKS.get((emd.framework or "").strip().lower())


def runtime_reason(emd: Emd, type_family: str) -> tuple[bool, str]:
    """(runnable, why) of an ONNX / TorchScript package, from the .emd alone (the file itself is
    checked when it is uploaded)."""
    runtime = runtime_of(emd)
    label = "ONNX" if runtime == ONNX else "TorchScript"
    if not emd.model_file:
        return False, f"the .emd names no ModelFile (the {label} file)"
    if not emd.model_file.lower().endswith(_SUFFIXES[runtime or ONNX]):
        return False, f"ModelFile {emd.model_file!r} is not a {' / '.join(_SUFFIXES[runtime or ONNX])} file"
    if not (emd.image_height or emd.image_width):
        return False, "the .emd has no ImageHeight/ImageWidth (the model's chip size)"
    if not emd.classes:
        return False, "the .emd lists no Classes"
    return True, f"{label} model ({type_family.replace('_', ' ')}), run by " + (
        "ONNX Runtime" if runtime == ONNX else "TorchScript where an administrator allows it")
