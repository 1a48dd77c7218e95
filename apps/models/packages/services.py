"""Writes of model packages: upload, register a trained model folder, edit, delete, and the
extracted copy that inference reads.

Safety: packages are checked by backend.engine.dlpk before anything is kept (zip slip, links,
zip bombs, one root .emd, ModelFile present, known ModelType); nothing in a package is ever
imported or run. The weights of a package Rasterlab can run are loaded once at upload with
`torch.load(weights_only=True)` (engine `load_state_dict`), so a pickle carrying code is refused
before anyone can pick the model. Packages Rasterlab cannot run are stored as they are (download
only) and their weights are never read.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.labeling.models import Project
from apps.labeling.permissions import require_role
from backend.api.exceptions import Conflict, InvalidInput
from backend.scratch import scratch_dir
from backend.engine.dlpk import (
    DlpkInfo,
    PackageLimits,
    Emd,
    emd_to_dict,
    emd_to_json,
    extract_dlpk,
    inspect_dlpk,
    rewrite_emd,
    sha256_file,
    write_dlpk,
)
from backend.engine.dlpk.runtimes import runtime_of
from backend.engine.errors import EngineInputError

from ..package_models import ModelPackage
from . import edits
from .describe import emd_columns, image_members
from .permissions import require_write
from .runtimes import check_model_file
from .storage import extracted_dir, package_dir, package_path

logger = logging.getLogger(__name__)

MAX_TITLE = 200
MAX_TAGS = 30
MAX_TAG_LENGTH = 60
# Limits on untrusted archives (members, expanded size, compression ratio); tests lower them.
PACKAGE_LIMITS = PackageLimits.for_upload_limit(settings.MAX_MODEL_UPLOAD_MB * 1024 * 1024)


# --- create -------------------------------------------------------------------------------------
def _inspect(path: Path) -> DlpkInfo:
    try:
        return inspect_dlpk(path, PACKAGE_LIMITS)
    except EngineInputError as exc:
        raise InvalidInput(str(exc)) from exc


def _duplicate_of(project: Project, digest: str) -> ModelPackage | None:
    return (ModelPackage.objects.filter(project=project, original_sha256=digest).first()
            or ModelPackage.objects.filter(project=project, sha256=digest).first())


def _conflict(existing: ModelPackage) -> Conflict:
    return Conflict(
        f"This package is already in the project as model {existing.pk} (“{existing.title}”).", id=existing.pk
    )


def _check_weights(path: Path, info: DlpkInfo) -> tuple[Path | None, dict[str, Any]]:
    """Extract a runnable package into scratch space and load its weights safely.

    Returns the extracted folder (kept as the package's extracted/ copy) or None when the
    package is not one Rasterlab runs, and the inputs/outputs of an ONNX/TorchScript file
    (runtimes.check_model_file: 400 when they do not fit the .emd). Raises InvalidInput if the
    weights are not a plain state_dict (e.g. a pickle that would run code); nothing is left
    behind then.
    """
    if not emd_columns(info.emd)["runnable"] or info.model_file is None:
        return None, {}
    from backend.engine.dlpk import load_state_dict  # imports torch: only when needed

    scratch = scratch_dir() / f"dlpk-{uuid.uuid4().hex}"
    model_io: dict[str, Any] = {}
    try:
        extract_dlpk(path, scratch, PACKAGE_LIMITS)
        if runtime_of(info.emd) is not None:
            model_io = check_model_file(scratch, info.emd)
        else:
            load_state_dict(scratch / info.model_file)
    except EngineInputError as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise InvalidInput(str(exc)) from exc
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return scratch, model_io


def _clean_title(title: str) -> str:
    title = " ".join(title.split())[:MAX_TITLE]
    return title or "Model"


def _register(
    *, project: Project, user: Any, path: Path, title: str, file_name: str, source: str,
    description: str | None = None, tags: list[str] | None = None, shared: bool = False,
) -> ModelPackage:
    """Validate the package at `path` and keep it (moved, not copied). On any error nothing is
    left: no row, no folder (the file at `path` stays the caller's)."""
    info = _inspect(path)
    digest = sha256_file(path)
    existing = _duplicate_of(project, digest)
    if existing is not None:
        raise _conflict(existing)
    scratch, model_io = _check_weights(path, info)
    folder: Path | None = None
    try:
        with transaction.atomic():
            package = ModelPackage.objects.create(
                project=project, title=_clean_title(title), source=source, created_by=user, shared=shared,
                description=(description if description is not None else info.emd.description or "").strip(),
                tags=_clean_tags(tags or []),
                emd_name=info.emd_name, model_file=info.model_file or "", file_name=file_name[:255], size=path.stat().st_size,
                sha256=digest, original_sha256=digest,
                images=image_members(m.name for m in info.members), model_io=model_io, **emd_columns(info.emd),
            )
            folder = package_dir(package.pk)
            # A folder left by a crash before its row was committed (the id can come again).
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            shutil.move(str(path), package_path(package.pk))
            os.chmod(package_path(package.pk), 0o644)
            if scratch is not None:
                os.replace(scratch, extracted_dir(package.pk))
                scratch = None
    except IntegrityError:
        # The same file uploaded twice at once: the unique constraint caught the second.
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        existing = _duplicate_of(project, digest)
        if existing is None:
            raise
        raise _conflict(existing) from None
    except BaseException:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return package


def model_upload(
    *, user: Any, project: Project, uploaded_path: Path, file_name: str, title: str = "",
    description: str | None = None, tags: list[str] | None = None, shared: bool = False,
) -> ModelPackage:
    """Keep an uploaded .dlpk (already streamed to disk at `uploaded_path`).

    Editors and owners only. A bad archive raises InvalidInput (400) with the engine's message;
    the same file already in the project raises Conflict (409) whose body carries the existing
    model's `id`. Title defaults to the file name without its extension.
    """
    require_role(user, project.pk, write=True)
    title = title.strip() or Path(file_name).stem
    return _register(project=project, user=user, path=uploaded_path, title=title, file_name=file_name,
                     source=ModelPackage.Source.UPLOAD, description=description, tags=tags, shared=shared)


def model_package_create_from_folder(*, project: Project, user: Any, folder: Path, title: str,
                                     source: str = ModelPackage.Source.TRAINING) -> ModelPackage:
    """Package a model folder (one .emd at its root, the ModelFile it names, optional
    ModelCharacteristics/...) into a .dlpk with the engine's write_dlpk and register it.

    For the training job: its caller has authorized the user when the job started, so no role
    check is made here. The folder is left as it is.
    """
    scratch = scratch_dir() / f"{uuid.uuid4().hex}.dlpk"
    try:
        write_dlpk(Path(folder), scratch)
        return _register(project=project, user=user, path=scratch, title=title, file_name=f"{Path(folder).name}.dlpk",
                         source=source)
    finally:
        scratch.unlink(missing_ok=True)


# --- edit ---------------------------------------------------------------------------------------
def _clean_tags(tags: Any) -> list[str]:
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InvalidInput("tags: must be a list of strings.")
    cleaned: list[str] = []
    for tag in tags:
        tag = " ".join(tag.split())
        if len(tag) > MAX_TAG_LENGTH:
            raise InvalidInput(f"tags: {tag[:20]!r}… is longer than {MAX_TAG_LENGTH} characters.")
        if tag and tag.lower() not in (t.lower() for t in cleaned):
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise InvalidInput(f"tags: at most {MAX_TAGS} tags.")
    return cleaned


def _edited_emd(emd: Emd, fields: dict[str, Any]) -> Emd:
    if "description" in fields:
        emd = edits.edit_description(emd, fields["description"])
    if "classes" in fields:
        emd = edits.edit_classes(emd, fields["classes"])
    if "cell_size" in fields:
        emd = edits.edit_cell_size(emd, fields["cell_size"])
    if "argument_defaults" in fields:
        emd = edits.edit_argument_defaults(emd, fields["argument_defaults"])
    return emd


def _file_emd(package: ModelPackage) -> Emd:
    """The .emd inside the stored package: the source of truth for edits. (The row's JSON copy
    may have lost the file's key order: PostgreSQL's jsonb sorts keys.)"""
    try:
        return inspect_dlpk(package_path(package.pk), PACKAGE_LIMITS).emd
    except EngineInputError as exc:
        raise InvalidInput(f"the stored package cannot be read: {exc}") from exc


def _sync_extracted_emd(package: ModelPackage) -> None:
    """Write the package's .emd into the extracted copy when it differs (atomically)."""
    folder = extracted_dir(package.pk)
    target = folder / package.emd_name
    if not folder.is_dir():
        return
    try:
        if json.loads(target.read_text(encoding="utf-8-sig")) == package.emd:
            return
    except (OSError, ValueError):
        pass
    tmp = folder / f".{package.emd_name}.{uuid.uuid4().hex}.tmp"
    tmp.write_text(emd_to_json(_file_emd(package)), encoding="utf-8")
    os.replace(tmp, target)


def model_update(*, user: Any, package: ModelPackage, **fields: Any) -> ModelPackage:
    """Change title, description, tags, shared, classes (names, colors), cell_size and
    argument_defaults. Edits of the .emd rewrite the stored package atomically: readers (and
    downloads already started) see the old file or the new one, never a mix, and a failure
    leaves the old package and row as they were."""
    require_write(user, package)
    with transaction.atomic():
        # Lock the row: two edits at once must not both start from the same .emd.
        package = ModelPackage.objects.select_for_update().get(pk=package.pk)
        if "title" in fields:
            title = " ".join(str(fields["title"]).split())
            if not title:
                raise InvalidInput("title: must not be empty.")
            package.title = title[:MAX_TITLE]
        if "tags" in fields:
            package.tags = _clean_tags(fields["tags"])
        if "shared" in fields:
            package.shared = bool(fields["shared"])
        if "description" in fields:
            package.description = str(fields["description"]).strip()
        old = _file_emd(package)
        new = _edited_emd(old, fields)
        pending: Path | None = None
        if emd_to_dict(new) != emd_to_dict(old):
            pending = package_dir(package.pk) / f".pending-{uuid.uuid4().hex}.dlpk"
            try:
                rewrite_emd(package_path(package.pk), new, out_path=pending)
            except EngineInputError as exc:
                pending.unlink(missing_ok=True)
                raise InvalidInput(str(exc)) from exc
            for name, value in emd_columns(new).items():
                setattr(package, name, value)
            package.sha256 = sha256_file(pending)
            package.size = pending.stat().st_size
        try:
            package.save()
            if pending is not None:
                # Last step inside the transaction: if the move fails, the row rolls back too.
                os.replace(pending, package_path(package.pk))
                pending = None
        finally:
            if pending is not None:
                pending.unlink(missing_ok=True)
    _sync_extracted_emd(package)
    return package


def model_delete(*, user: Any, package: ModelPackage) -> None:
    """Editors and owners of the package's project; its files go after the commit (signals.py)."""
    require_write(user, package)
    package.delete()


# --- files --------------------------------------------------------------------------------------
def model_package_file(package: ModelPackage) -> Path:
    """The stored .dlpk (for downloads)."""
    return package_path(package.pk)


def model_extracted_dir(package: ModelPackage) -> Path:
    """The package's members on disk (DATA_DIR/models/<id>/extracted/), extracting on first use.

    For inference: read `<dir>/<package.emd_name>` and the weights at `<dir>/<package.model_file>`. Extraction is
    checked by the engine and never runs anything; concurrent callers each extract to a
    private folder and the first rename wins. The .emd there always matches the row.
    """
    target = extracted_dir(package.pk)
    if not target.is_dir():
        scratch = package_dir(package.pk) / f".extracting-{uuid.uuid4().hex}"
        try:
            extract_dlpk(package_path(package.pk), scratch, PACKAGE_LIMITS)
            try:
                os.rename(scratch, target)
            except OSError:
                if not target.is_dir():
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    _sync_extracted_emd(package)
    return target
