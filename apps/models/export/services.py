"""Run an ONNX export: the engine writes the package folder (and checks that the ONNX model agrees
with the PyTorch one on test chips), then it is registered as a new model of the same project."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from apps.jobs.registry import JobContext
from apps.models.package_models import ModelPackage
from apps.models.packages.services import model_extracted_dir, model_package_create_from_folder
from apps.models.training.params import safe_folder_name
from backend.engine.dlpk import parse_emd
from backend.engine.errors import EngineInputError


def export_onnx_job(ctx: JobContext) -> dict[str, Any]:
    from backend.engine.runtimes.export import BOX_TOLERANCE, export_onnx_package, tolerance

    p = ctx.params
    package = ModelPackage.objects.filter(pk=p["in_model"]).first()
    if package is None:
        raise EngineInputError("the model package was deleted")
    ctx.progress(0, 3, f"exporting {package.title!r} to ONNX")
    name = safe_folder_name(p["out_name"])
    out = ctx.work_dir / "onnx" / name
    result = export_onnx_package(model_extracted_dir(package), parse_emd(package.emd), out, name)
    ctx.log(f"ONNX and PyTorch agree on {result.chips} test chips: largest difference {result.max_prob_diff:.2e} "
            f"(probabilities/scores), {result.max_box_diff:.2e} px (boxes)")
    ctx.progress(2, 3, "registering the ONNX package")
    user = get_user_model().objects.filter(pk=ctx.user_id).first()
    exported = model_package_create_from_folder(project=package.project, user=user, folder=out, title=p["out_name"],
                                                source=ModelPackage.Source.EXPORT)
    ctx.progress(3, 3, "exported")
    return {"model": exported.pk, "source_model": package.pk, "chips_checked": result.chips,
            "max_difference": result.max_prob_diff, "max_box_difference": result.max_box_diff,
            "tolerance": {"probability": tolerance(package.family), "box_px": BOX_TOLERANCE}}
