"""Safe reading and writing of .dlpk packages (plain zip archives with one .emd at the root).

Nothing in a package is ever imported or executed: a `.py` inside is just a file. Archives are
checked (`archive.check_members`) before any member is read; extraction streams members in
chunks into a private folder that is renamed into place only when everything succeeded. Writers
build a temporary file next to the target and `os.replace` it, so a crash mid-write leaves the
old package untouched.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from backend.engine.dlpk.archive import (
    DEFAULT_LIMITS,
    CheckedMember,
    MemberInfo,
    PackageLimits,
    check_members,
    member_path,
)
from backend.engine.dlpk.emd import Emd, emd_to_json, parse_emd
from backend.engine.dlpk.errors import PackageError
from backend.engine.dlpk.families import KNOWN_MODEL_TYPES
from backend.engine.dlpk.interchange import support_files
from backend.engine.errors import Cancelled, EngineInputError
from backend.engine.types import Progress, ShouldStop, never_stop, no_progress

_CHUNK = 1024 * 1024
# Already-compressed content: deflating it costs time and saves nothing.
_STORED_SUFFIXES = frozenset({".pth", ".pt", ".pb", ".h5", ".onnx", ".png", ".jpg", ".jpeg",
                              ".zip", ".gz", ".tif", ".tiff"})


@dataclass(frozen=True)
class DlpkInfo:
    emd: Emd
    emd_name: str
    """Name of the .emd member at the archive root."""
    members: tuple[MemberInfo, ...]
    """Every file of the package (folders left out), in archive order."""
    total_size: int
    """Sum of the uncompressed member sizes, in bytes."""
    model_file: str | None
    """The member that ModelFile names (resolved as ArcGIS does), or None if none is named."""


def _resolve_reference(reference: str, paths: list[str]) -> str | None:
    """Find the member a path in the .emd names (".\\file.pth", "sub/x", "C:\\...\\x.pth")."""
    ref = reference.replace("\\", "/")
    absolute = ref.startswith("/") or (len(ref) > 1 and ref[1] == ":")
    while ref.startswith("./"):
        ref = ref[2:]
    if absolute:  # written on the author's machine; the file may still be at the root
        ref = ref.rsplit("/", 1)[-1]
    ref = ref.rstrip("/")
    if ref in paths:
        return ref
    if any(path.startswith(ref + "/") for path in paths):  # a folder (e.g. a SavedModel)
        return ref
    lowered = {path.lower(): path for path in paths}  # Windows authors: case may differ
    return lowered.get(ref.lower())


def _check_emd(emd: Emd, emd_name: str, paths: list[str]) -> str | None:
    if emd.model_type is None:
        raise PackageError(
            f"{emd_name} has no ModelType; set it to one of: {', '.join(sorted(KNOWN_MODEL_TYPES))}"
        )
    if emd.model_type not in KNOWN_MODEL_TYPES:
        raise PackageError(
            f"{emd_name}: unknown ModelType {emd.model_type!r}; expected one of: "
            f"{', '.join(sorted(KNOWN_MODEL_TYPES))}"
        )
    if emd.model_file is None:
        return None
    member = _resolve_reference(emd.model_file, paths)
    if member is None:
        raise PackageError(
            f"{emd_name} names ModelFile {emd.model_file!r}, which is not in the package"
        )
    return member


@contextmanager
def _open_zip(path: Path) -> Iterator[zipfile.ZipFile]:
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise PackageError(f"package file {path.name!r} does not exist") from None
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise PackageError(
            f"{path.name!r} is not a .dlpk package (a zip archive): {exc}"
        ) from None
    with archive:
        yield archive


def _inspect_open(
    archive: zipfile.ZipFile, limits: PackageLimits
) -> tuple[DlpkInfo, list[CheckedMember]]:
    checked = check_members(archive, limits)
    roots = [m for m in checked if "/" not in m.path and m.path.lower().endswith(".emd")]
    if not roots:
        nested = [m.path for m in checked if m.path.lower().endswith(".emd")]
        hint = f" (found {', '.join(nested)} in a subfolder)" if nested else ""
        raise PackageError(f"the package has no .emd file at its root{hint}")
    if len(roots) > 1:
        raise PackageError(
            "the package has more than one .emd file at its root: "
            f"{', '.join(m.path for m in roots)}; keep exactly one"
        )
    emd_member = roots[0]
    if emd_member.info.file_size > limits.max_emd_size:
        raise PackageError(f"{emd_member.path} is larger than {limits.max_emd_size} bytes")
    try:
        emd = parse_emd(archive.read(emd_member.info))
    except EngineInputError as exc:
        raise PackageError(f"{emd_member.path}: {exc}") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise PackageError(f"the package is damaged ({emd_member.path}): {exc}") from None
    paths = [m.path for m in checked]
    model_file = _check_emd(emd, emd_member.path, paths)
    members = tuple(MemberInfo(m.path, m.info.file_size) for m in checked)
    info = DlpkInfo(
        emd=emd,
        emd_name=emd_member.path,
        members=members,
        total_size=sum(m.size for m in members),
        model_file=model_file,
    )
    return info, checked


def inspect_dlpk(path: Path, limits: PackageLimits = DEFAULT_LIMITS) -> DlpkInfo:
    """Check a package and read its .emd; raises PackageError saying what is wrong."""
    with _open_zip(Path(path)) as archive:
        return _inspect_open(archive, limits)[0]


def _copy(src: IO[bytes], dst: IO[bytes], limit: int, should_stop: ShouldStop) -> int:
    """Stream src into dst in chunks; refuse more than `limit` bytes."""
    written = 0
    while chunk := src.read(_CHUNK):
        written += len(chunk)
        if written > limit:
            raise PackageError("a package member is larger than its header says")
        dst.write(chunk)
        if should_stop():
            raise Cancelled()
    return written


def extract_dlpk(
    path: Path,
    dest_dir: Path,
    limits: PackageLimits = DEFAULT_LIMITS,
    progress: Progress = no_progress,
    should_stop: ShouldStop = never_stop,
) -> DlpkInfo:
    """Check a package, then extract it into `dest_dir` (created; must not hold files).

    Members are extracted under their normalised names (Windows "\\" become folders). On any
    error or cancellation nothing is left at `dest_dir`.
    """
    dest_dir = Path(dest_dir)
    if dest_dir.exists() and (not dest_dir.is_dir() or any(dest_dir.iterdir())):
        raise EngineInputError(f"cannot extract into {dest_dir}: it exists and is not empty")
    with _open_zip(Path(path)) as archive:
        info, checked = _inspect_open(archive, limits)
        dest_dir.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{dest_dir.name}.", dir=dest_dir.parent))
        try:
            os.chmod(work, 0o755)
            root = work.resolve()
            done = 0
            for member in checked:
                target = (work / member.path).resolve()
                if not target.is_relative_to(root):  # belt and braces after member_path
                    raise PackageError(
                        f"package member {member.info.filename!r} escapes the folder"
                    )
                target.parent.mkdir(parents=True, exist_ok=True)
                progress(done, info.total_size, f"extracting {member.path}")
                with archive.open(member.info) as src, open(target, "xb") as dst:
                    done += _copy(src, dst, member.info.file_size, should_stop)
            if dest_dir.exists():
                dest_dir.rmdir()
            os.replace(work, dest_dir)
        except zipfile.BadZipFile as exc:
            shutil.rmtree(work, ignore_errors=True)
            raise PackageError(f"the package is damaged: {exc}") from None
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    progress(info.total_size, info.total_size, "extracted")
    return info


@contextmanager
def _atomic_target(out_path: Path) -> Iterator[Path]:
    """A temporary path next to out_path, moved over it only if the block succeeds."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, out_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


CHARACTERISTICS = "ModelCharacteristics"
"""Folder of images (loss graph, sample results) that arcgis.learn packages carry."""


def _folder_files(folder: Path) -> list[tuple[Path, str]]:
    files: list[tuple[Path, str]] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in [*dirnames, *sorted(filenames)]:
            file = Path(dirpath) / name
            if file.is_symlink():
                raise EngineInputError(f"{file} is a symbolic link; packages hold plain files only")
        for name in sorted(filenames):
            file = Path(dirpath) / name
            files.append((file, file.relative_to(folder).as_posix()))
    return files


def emd_references(emd: Emd) -> tuple[str, ...]:
    """Files an .emd names relative to its folder: ModelFile, ModelConfigurationFile and a
    package-local InferenceFunction (not Pro's "[Functions]..." built-ins)."""
    refs = [emd.model_file, emd.model_configuration_file]
    function = emd.inference_function
    if function and not function.startswith("[") and function.lower().endswith(".py"):
        refs.append(function)
    return tuple(ref for ref in refs if ref)


def package_members(folder: Path) -> list[tuple[Path, str]]:
    """The files of a model folder that belong in its package: the root .emd, what it
    references (see `emd_references`) and ModelCharacteristics/. Anything else (an earlier
    .dlpk, checkpoints, logs) is left out, so a package never holds a copy of itself."""
    folder = Path(folder)
    files = _folder_files(folder)
    paths = [arcname for _, arcname in files]
    emds = [arcname for arcname in paths if "/" not in arcname and arcname.lower().endswith(".emd")]
    if len(emds) != 1:
        found = ", ".join(emds) if emds else "none"
        raise PackageError(f"{folder.name} must hold exactly one .emd at its root (found {found})")
    try:
        emd = parse_emd((folder / emds[0]).read_bytes())
    except EngineInputError as exc:
        raise PackageError(f"{emds[0]}: {exc}") from None
    keep = {emds[0]}
    for reference in emd_references(emd):
        member = _resolve_reference(reference, paths)
        if member is None:
            continue  # inspect_dlpk names a missing ModelFile; a missing script is ArcGIS's loss
        keep.update(p for p in paths if p == member or p.startswith(member + "/"))
    keep.update(p for p in paths if p.startswith(CHARACTERISTICS + "/"))
    return [(file, arcname) for file, arcname in files if arcname in keep]


def write_dlpk(folder: Path, out_path: Path) -> Path:
    """Zip a model folder into a .dlpk as arcgis.learn does: the folder's files at the archive
    root, subfolders (ModelCharacteristics/) kept, only the files `package_members` selects,
    plus the ArcGIS scripts of ours the .emd names (`interchange.support_files`).
    The folder must hold one .emd at its root and the ModelFile it names. Written atomically;
    returns out_path."""
    folder, out_path = Path(folder), Path(out_path)
    if not folder.is_dir():
        raise EngineInputError(f"{folder} is not a folder")
    files = package_members(folder)
    emd_file = next(file for file, arcname in files if "/" not in arcname
                    and arcname.lower().endswith(".emd"))
    names = {arcname.lower() for _, arcname in files}
    extra = {name: content for name, content in
             support_files(json.loads(emd_file.read_text(encoding="utf-8-sig"))).items()
             if name.lower() not in names}
    with _atomic_target(out_path) as tmp:
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as archive:
            for file, arcname in files:
                method = (zipfile.ZIP_STORED if file.suffix.lower() in _STORED_SUFFIXES
                          else zipfile.ZIP_DEFLATED)
                archive.write(file, arcname, compress_type=method)
            for name, content in extra.items():  # our scripts for ArcGIS (interchange.py)
                archive.writestr(name, content, compress_type=zipfile.ZIP_DEFLATED)
        inspect_dlpk(tmp)  # never publish a package that our own reader would refuse
    return out_path


def _nested_package(name: str) -> bool:
    return name.lower().endswith(".dlpk")


def rewrite_emd(package_path: Path, emd: Emd, out_path: Path | None = None) -> Path:
    """Copy a package with its .emd replaced by `emd` (every other member as-is, in order,
    except nested .dlpk copies of a package, which older Rasterlab versions left inside).

    Writes to `out_path` (default: over `package_path`) atomically: if anything fails the old
    file is left intact. Raises PackageError if the new emd would make the package invalid
    (e.g. ModelFile naming a missing file). Returns the path written.
    """
    package_path = Path(package_path)
    target = Path(out_path) if out_path is not None else package_path
    with _open_zip(package_path) as source:
        info, _ = _inspect_open(source, DEFAULT_LIMITS)
        _check_emd(emd, info.emd_name, [m.name for m in info.members])
        with _atomic_target(target) as tmp:
            with zipfile.ZipFile(tmp, "w", allowZip64=True) as out:
                for item in source.infolist():
                    if _nested_package(item.filename):
                        continue  # a stale copy of an older package: never what the emd says
                    copy = zipfile.ZipInfo(item.filename, item.date_time)
                    copy.compress_type = item.compress_type
                    copy.external_attr = item.external_attr
                    copy.comment = item.comment
                    if item.is_dir():
                        out.writestr(copy, b"")
                    elif member_path(item.filename) == info.emd_name:
                        copy.compress_type = zipfile.ZIP_DEFLATED
                        out.writestr(copy, emd_to_json(emd).encode("utf-8"))
                    else:
                        copy.file_size = item.file_size
                        with source.open(item) as src, out.open(copy, "w") as dst:
                            _copy(src, dst, item.file_size, never_stop)
            inspect_dlpk(tmp)
    return target


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
