"""A folder as a zip, produced chunk by chunk (memory stays flat whatever the folder's size)."""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Iterator

CHUNK = 1024 * 1024
# Already-compressed chips gain nothing from deflate.
STORED_SUFFIXES = {".png", ".jpg", ".jpeg", ".zip"}


class _Sink:
    """A write-only, unseekable stream: zipfile then writes data descriptors after each member."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        if data:
            self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def zip_stream(folder: Path, prefix: str = "") -> Iterator[bytes]:
    """Yield the bytes of a zip of ``folder`` (members under ``prefix/`` when given)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", allowZip64=True) as archive:  # type: ignore[arg-type]
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = path.relative_to(folder).as_posix()
            info = zipfile.ZipInfo.from_file(path, f"{prefix}/{name}" if prefix else name)
            if path.suffix.lower() in STORED_SUFFIXES:
                info.compress_type = zipfile.ZIP_STORED
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
                # Fast deflate: the attribute is named compress_level from Python 3.13 on.
                setattr(info, "compress_level" if hasattr(info, "compress_level") else "_compresslevel", 1)
            with open(path, "rb") as src, archive.open(info, "w") as dst:
                while chunk := src.read(CHUNK):
                    dst.write(chunk)
                    if sum(len(p) for p in sink.parts) >= CHUNK:
                        yield sink.take()
            data = sink.take()
            if data:
                yield data
    tail = sink.take()
    if tail:
        yield tail
