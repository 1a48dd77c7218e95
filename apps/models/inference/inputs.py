"""The rasters an inference job runs over (issue 17): ``in_raster``, ``in_rasters`` or ``in_collection``.

Exactly one of the three names the input; the answer is the list of rasters in order (a
collection's order). Each raster is checked before anything is queued, and a 400 names the raster:
another project's, listed twice, not ready, a classified raster, a band count or pixel type the
model cannot take, or (with a processing_extent) a raster outside the extent.
"""
from __future__ import annotations

from typing import Any

from apps.jobs.registry import ValidationContext
from apps.labeling.collections import MAX_RASTERS, check_project_rasters, collection_rasters
from apps.labeling.models import Collection, Raster
from backend.api.exceptions import InvalidInput
from backend.api.params import MAX_ID
from backend.engine.dlpk.emd import Emd

INPUT_NAMES = ("in_raster", "in_rasters", "in_collection")
__all__ = ["INPUT_NAMES", "MAX_RASTERS", "check_model_takes", "cleaned_inputs", "input_rasters", "raster_ids"]


def _id(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidInput(f"params.{field}: must be an id (a whole number from 1 to {MAX_ID}), got {value!r}.")
    return value


def input_rasters(params: dict[str, Any], ctx: ValidationContext) -> tuple[str, list[Raster], int | None]:
    """(the field used, its rasters in order, the collection id or None)."""
    given = [name for name in INPUT_NAMES if params.get(name) not in (None, [], "")]
    if len(given) != 1:
        raise InvalidInput("params.in_raster: give one of in_raster (an id), in_rasters (a list of ids) or "
                           f"in_collection (a collection id){'; got ' + ', '.join(given) if given else ''}.")
    field = given[0]
    if field == "in_raster":
        ids = [_id(params[field], field)]
        return field, check_project_rasters(ctx.project_id, ids, f"params.{field}"), None
    if field == "in_rasters":
        return field, check_project_rasters(ctx.project_id, params[field], f"params.{field}"), None
    pk = _id(params[field], field)
    collection = Collection.objects.filter(pk=pk, project_id=ctx.project_id).first()
    if collection is None:  # another project's is not named: ids of other projects stay unknown
        raise InvalidInput(f"params.in_collection: no collection {pk} in this project.")
    ids = [r.pk for r in collection_rasters(collection)]
    if not ids:
        raise InvalidInput(f"params.in_collection: collection {collection.name!r} has no rasters.")
    return field, check_project_rasters(ctx.project_id, ids, f"params.in_collection ({collection.name})"), pk


def check_model_takes(raster: Raster, emd: Emd, field: str) -> None:
    """Bands and pixel type: a model without NormalizationStats scales pixels by 1/255, so it was
    trained on 8-bit imagery and gives noise on 16-bit or float pixels."""
    from backend.engine.nets.normalization import scaling_from_emd  # torch: only when a job is checked
    from backend.engine.nets.predictor import band_indices

    bands = band_indices(emd)
    if raster.count is not None and max(bands, default=-1) >= raster.count:
        raise InvalidInput(
            f"params.{field}: the model reads bands {[b + 1 for b in bands]} (ExtractBands) but raster "
            f"{raster.name!r} has {raster.count} band(s); pick a raster with the bands it was trained on "
            "or edit the model's ExtractBands.")
    if scaling_from_emd(emd).band_min is None and raster.dtype and raster.dtype != "uint8":
        raise InvalidInput(
            f"params.{field}: raster {raster.name!r} has {raster.dtype} pixels but the model has no "
            "NormalizationStats, so it takes 8-bit (uint8) imagery only; use an 8-bit raster or a model "
            "trained on this pixel type.")


def cleaned_inputs(field: str, rasters: list[Raster], collection: int | None) -> dict[str, Any]:
    """What the job stores: ``in_raster`` (the first, for clients and code that read one) and,
    for several, ``in_rasters`` (and ``in_collection`` when one was named)."""
    cleaned: dict[str, Any] = {"in_raster": rasters[0].pk}
    if field != "in_raster":
        cleaned["in_rasters"] = [r.pk for r in rasters]
    if collection is not None:
        cleaned["in_collection"] = collection
    return cleaned


def raster_ids(params: dict[str, Any]) -> list[int]:
    """The job's rasters from its stored params (jobs from before issue 17 have in_raster only)."""
    return list(params.get("in_rasters") or [params["in_raster"]])
