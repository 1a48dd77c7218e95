"""export_onnx params (declared once): the model to export and the new package's title."""
from __future__ import annotations

from typing import Any

from apps.jobs.params import Id, JobParams, Name
from backend.api.exceptions import InvalidInput, NotFound


class ExportOnnxParams(JobParams):
    """Export a model Rasterlab runs with PyTorch to an ONNX package (a new model item)."""

    in_model = Id(help_text="The model package to export (one Rasterlab runs with PyTorch).")
    out_name = Name(help_text="Title of the ONNX package (default: '<model title> (ONNX)').")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        from apps.models.packages.selectors import model_get_visible
        from backend.engine.dlpk.runtimes import runtime_of
        from backend.engine.dlpk import parse_emd

        pk = attrs["in_model"]
        try:
            package = model_get_visible(self.job.user, pk)
        except NotFound:
            raise InvalidInput(f"params.in_model: model {pk!r} not found.") from None
        if runtime_of(parse_emd(package.emd)) is not None:
            raise InvalidInput(f"params.in_model: {package.title!r} is already a {package.framework} model; "
                               "export a PyTorch model.")
        if not package.runnable:
            raise InvalidInput(f"params.in_model: Rasterlab cannot run {package.title!r} ({package.runnable_reason}), "
                               "so it cannot export it either.")
        return {**attrs, "out_name": attrs.get("out_name") or f"{package.title} (ONNX)"[:200]}
