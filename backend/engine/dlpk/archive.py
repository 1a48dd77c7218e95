"""Safety checks on the members of a zip archive, before anything is read or extracted.

A member is refused when its name could escape the destination folder (absolute path, drive
letter, `..`), when it is not a regular file or folder (symlink, device), when it is encrypted
or uses an unsupported compression method, or when sizes exceed `PackageLimits` (zip bombs:
total uncompressed size, compression ratio of each member and of the whole archive, member count).
All of it is read from the central directory, before any member is decompressed.
"""
from __future__ import annotations

import re
import stat
import zipfile
from dataclasses import dataclass

from backend.engine.dlpk.errors import PackageError

_MiB = 1024 * 1024
_GiB = 1024 * _MiB
_DRIVE = re.compile(r"^[A-Za-z]:")
_SUPPORTED_METHODS = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}


@dataclass(frozen=True)
class PackageLimits:
    """Limits that protect the server from hostile or broken archives.

    A member's compression ratio is only checked above `ratio_min_size`: small text files (the
    .emd, scripts, HTML) legitimately compress very well, weights and images do not. Many small
    members cannot dodge the limits: the whole archive's ratio (expanded / compressed bytes) is
    checked too once it expands past `total_ratio_min_size`, and the expanded total is capped.
    Callers size `max_total_size` from their upload limit (`for_upload_limit`).
    """

    max_members: int = 10_000
    max_total_size: int = 4 * _GiB
    max_compression_ratio: float = 200.0
    ratio_min_size: int = 1 * _MiB
    max_total_ratio: float = 20.0
    total_ratio_min_size: int = 64 * _MiB
    max_emd_size: int = 4 * _MiB

    @classmethod
    def for_upload_limit(cls, upload_bytes: int) -> "PackageLimits":
        """Limits for packages of at most ``upload_bytes``: weights barely compress, so a real
        package expands little; four times the upload limit (at least 256 MiB) is ample."""
        return cls(max_total_size=max(4 * upload_bytes, 256 * _MiB))


DEFAULT_LIMITS = PackageLimits()


@dataclass(frozen=True)
class MemberInfo:
    name: str
    """Path inside the package, with "/" separators (Windows "\\" names are converted)."""
    size: int
    """Uncompressed size in bytes."""


@dataclass(frozen=True)
class CheckedMember:
    info: zipfile.ZipInfo
    path: str
    """Normalised relative path ("/"-separated, no "." parts) to extract to."""


def member_path(raw_name: str) -> str:
    """Normalise a member name, refusing any that could land outside the destination folder."""
    name = raw_name.replace("\\", "/")
    if "\x00" in name:
        raise PackageError(f"package member {raw_name!r} has a NUL character in its name")
    if name.startswith("/") or _DRIVE.match(name):
        raise PackageError(
            f"package member {raw_name!r} has an absolute path; members must be relative"
        )
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise PackageError(
            f"package member {raw_name!r} points outside the package ('..' in its path)"
        )
    if not parts:
        raise PackageError(f"package member {raw_name!r} has an empty name")
    return "/".join(parts)


def _check_kind(info: zipfile.ZipInfo) -> None:
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if stat.S_ISLNK(mode):
        raise PackageError(
            f"package member {info.filename!r} is a symbolic link; links are refused"
        )
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise PackageError(f"package member {info.filename!r} is not a regular file")
    if info.flag_bits & 0x1:
        raise PackageError(
            f"package member {info.filename!r} is encrypted; upload a package without a password"
        )
    if info.compress_type not in _SUPPORTED_METHODS:
        raise PackageError(
            f"package member {info.filename!r} uses compression method {info.compress_type}; "
            f"re-zip it with one of: {', '.join(_SUPPORTED_METHODS.values())}"
        )


def _check_size(info: zipfile.ZipInfo, limits: PackageLimits) -> None:
    if info.file_size <= limits.ratio_min_size:
        return
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio > limits.max_compression_ratio:
        raise PackageError(
            f"package member {info.filename!r} expands {ratio:.0f} times "
            f"(limit {limits.max_compression_ratio:g}); refusing a possible zip bomb"
        )


def _check_totals(infos: list[zipfile.ZipInfo], limits: PackageLimits) -> None:
    total = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos)
    if total > limits.max_total_size:
        raise PackageError(
            f"package expands to more than {limits.max_total_size / _GiB:g} GiB ({total / _GiB:.2f} GiB); "
            "refusing it (possible zip bomb)"
        )
    ratio = total / max(packed, 1)
    if total > limits.total_ratio_min_size and ratio > limits.max_total_ratio:
        raise PackageError(
            f"package expands {ratio:.0f} times ({packed / _MiB:.1f} MiB to {total / _MiB:.0f} MiB; "
            f"limit {limits.max_total_ratio:g} times); refusing a possible zip bomb"
        )


def check_members(archive: zipfile.ZipFile, limits: PackageLimits) -> list[CheckedMember]:
    """All file members (folders left out), checked; raises PackageError on the first problem."""
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise PackageError(
            f"package has {len(infos)} members, more than the limit of {limits.max_members}"
        )
    _check_totals(infos, limits)
    files: list[CheckedMember] = []
    seen: dict[str, str] = {}
    folders: set[str] = set()
    for info in infos:
        path = member_path(info.filename)
        _check_kind(info)
        is_dir = info.filename.endswith(("/", "\\")) or stat.S_ISDIR(info.external_attr >> 16)
        if is_dir:
            if info.file_size:
                raise PackageError(f"package folder entry {info.filename!r} has content")
            folders.add(path)
            continue
        _check_size(info, limits)
        key = path.lower()  # members differing only by case collide on Windows and macOS
        if key in seen:
            raise PackageError(
                f"package members {seen[key]!r} and {info.filename!r} have the same path"
            )
        seen[key] = info.filename
        files.append(CheckedMember(info, path))
    file_paths = {member.path for member in files}
    for member in files:
        parts = member.path.split("/")
        for depth in range(1, len(parts)):
            if "/".join(parts[:depth]) in file_paths:
                raise PackageError(
                    f"package member {member.info.filename!r} lies under a file of the same name"
                )
    for folder in folders:
        if folder in file_paths:
            raise PackageError(f"package path {folder!r} is both a file and a folder")
    return files
