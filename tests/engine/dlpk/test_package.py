from __future__ import annotations

import json
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from backend.engine.dlpk import (
    EmdClass,
    PackageError,
    PackageLimits,
    extract_dlpk,
    inspect_dlpk,
    parse_emd,
    rewrite_emd,
    sha256_file,
    write_dlpk,
)
from backend.engine.dlpk import package as package_module
from backend.engine.errors import Cancelled, EngineInputError
from tests.engine.dlpk.samples import (
    ESRI_DIR,
    fasterrcnn_emd,
    make_dlpk,
    make_zip,
    maskrcnn_emd,
)

EMD = json.dumps(maskrcnn_emd(ModelFile="model.pth"))


def _patch_central_directory(path: Path, offset: int, value: bytes) -> None:
    """Overwrite bytes of the first central-directory entry (and its local header twin)."""
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + offset: central + offset + len(value)] = value
    local = data.index(b"PK\x03\x04")
    data[local + offset - 2: local + offset - 2 + len(value)] = value
    path.write_bytes(bytes(data))


def _symlink_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model.emd", EMD)
        archive.writestr("model.pth", b"w")
        link = zipfile.ZipInfo("evil")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    return path


def _encrypted_zip(path: Path) -> Path:
    make_zip(path, {"model.pth": b"w" * 10, "model.emd": EMD})
    _patch_central_directory(path, 8, b"\x01\x00")  # general purpose flag bit 0: encrypted
    return path


def _deflate64_zip(path: Path) -> Path:
    make_zip(path, {"model.pth": b"w" * 10, "model.emd": EMD})
    _patch_central_directory(path, 10, b"\x09\x00")  # compression method 9 (Deflate64)
    return path


def _bomb_zip(path: Path) -> Path:
    return make_zip(path, {"model.emd": EMD, "model.pth": b"\0" * (8 * 1024 * 1024)})


BAD_ARCHIVES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "not a zip": (lambda p: (p.write_text("hello"), p)[1], "is not a .dlpk package (a zip"),
    "empty file": (lambda p: (p.write_bytes(b""), p)[1], "is not a .dlpk package"),
    "no root emd": (
        lambda p: make_zip(p, {"model/model.emd": EMD, "model/model.pth": b"w"}),
        "no .emd file at its root (found model/model.emd in a subfolder)",
    ),
    "no emd at all": (lambda p: make_zip(p, {"model.pth": b"w"}), "no .emd file at its root"),
    "two root emds": (
        lambda p: make_zip(p, {"a.emd": EMD, "b.emd": EMD, "model.pth": b"w"}),
        "more than one .emd file at its root: a.emd, b.emd",
    ),
    "invalid json": (
        lambda p: make_zip(p, {"m.emd": '{\n "ModelType": "ObjectDetection",\n}'}),
        "m.emd: the .emd is not valid JSON: Expecting property name enclosed in double quotes "
        "at line 3 column 1",
    ),
    "wrong field type": (
        lambda p: make_zip(p, {"m.emd": json.dumps({"ModelType": "ObjectDetection",
                                                    "ImageHeight": "tall"})}),
        "m.emd: ImageHeight must be a whole number",
    ),
    "missing model file": (
        lambda p: make_zip(p, {"m.emd": EMD, "other.pth": b"w"}),
        "m.emd names ModelFile 'model.pth', which is not in the package",
    ),
    "missing ModelType": (
        lambda p: make_zip(p, {"m.emd": json.dumps({"ModelFile": "x"}), "x": b""}),
        "m.emd has no ModelType; set it to one of",
    ),
    "unknown ModelType": (
        lambda p: make_zip(p, {"m.emd": json.dumps({"ModelType": "Magic"})}),
        "unknown ModelType 'Magic'",
    ),
    "absolute path": (
        lambda p: make_zip(p, {"model.emd": EMD, "model.pth": b"w", "/tmp/evil": b"x"}),
        "'/tmp/evil' has an absolute path",
    ),
    "drive letter": (
        lambda p: make_zip(p, {"model.emd": EMD, "model.pth": b"w", "C:\\evil.bat": b"x"}),
        "'C:\\\\evil.bat' has an absolute path",
    ),
    "zip slip": (
        lambda p: make_zip(p, {"model.emd": EMD, "model.pth": b"w", "a/../../evil": b"x"}),
        "points outside the package",
    ),
    "windows zip slip": (
        lambda p: make_zip(p, {"model.emd": EMD, "model.pth": b"w", "..\\evil": b"x"}),
        "points outside the package",
    ),
    "symlink": (_symlink_zip, "'evil' is a symbolic link"),
    "encrypted": (_encrypted_zip, "'model.pth' is encrypted"),
    "unsupported compression": (_deflate64_zip, "uses compression method 9"),
    "zip bomb ratio": (_bomb_zip, "'model.pth' expands"),
    "duplicate names": (
        lambda p: make_zip(p, {"model.emd": EMD, "model.pth": b"w", "Model.PTH": b"w"}),
        "have the same path",
    ),
    "file under a file": (
        lambda p: make_zip(p, {"model.emd": EMD, "model.pth": b"w", "model.pth/x": b"w"}),
        "lies under a file of the same name",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ARCHIVES))
def test_bad_archives_are_refused_and_nothing_is_extracted(case: str, tmp_path: Path) -> None:
    build, message = BAD_ARCHIVES[case]
    path = build(tmp_path / "bad.dlpk")
    with pytest.raises(PackageError) as err:
        inspect_dlpk(path)
    assert message in str(err.value)
    assert isinstance(err.value, EngineInputError)
    dest = tmp_path / "out" / "model"
    with pytest.raises(PackageError):
        extract_dlpk(path, dest)
    assert not dest.exists()
    leftovers = list((tmp_path / "out").iterdir()) if (tmp_path / "out").exists() else []
    assert leftovers == []


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (PackageLimits(max_members=3), "package has 4 members, more than the limit of 3"),
        (PackageLimits(max_total_size=500), "package expands to more than"),
        (PackageLimits(max_emd_size=10), "model.emd is larger than 10 bytes"),
    ],
)
def test_limits(limits: PackageLimits, message: str, tmp_path: Path) -> None:
    path = make_dlpk(tmp_path / "m.dlpk")
    with pytest.raises(PackageError, match=message):
        inspect_dlpk(path, limits)


def test_inspect_a_valid_package(tmp_path: Path) -> None:
    path = make_dlpk(tmp_path / "m.dlpk")
    info = inspect_dlpk(path)
    assert info.emd_name == "model.emd"
    assert info.emd.model_name == "MaskRCNN"
    assert info.model_file == "model.pth"
    assert [m.name for m in info.members] == [
        "model.emd", "model.pth", "ArcGISInstanceDetector.py",
        "ModelCharacteristics/loss_graph.png",
    ]
    assert info.total_size == sum(m.size for m in info.members)


@pytest.mark.parametrize(
    ("reference", "stored"),
    [(".\\model.pth", "model.pth"), ("MODEL.pth", "model.pth"),
     ("C:\\Users\\me\\model.pth", "model.pth"), ("saved_model", "saved_model/variables.data")],
)
def test_model_file_references(reference: str, stored: str, tmp_path: Path) -> None:
    emd = json.dumps(fasterrcnn_emd(ModelFile=reference))
    path = make_zip(tmp_path / "m.dlpk", {"m.emd": emd, stored: b"w"})
    assert inspect_dlpk(path).model_file == stored.split("/")[0]


def test_real_esri_emd_with_windows_model_file(tmp_path: Path) -> None:
    emd = (ESRI_DIR / "esri-rdl_FastaiSSD_pytorch_fastai_ssd.emd").read_bytes()
    path = make_zip(tmp_path / "ssd.dlpk", {"pytorch_fastai_ssd.emd": emd, "9.h5": b"w"})
    info = inspect_dlpk(path)
    assert info.model_file == "9.h5" and info.emd.model_file == ".\\9.h5"


def test_extract_streams_files_and_never_imports_code(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    script = f"open({str(marker)!r}, 'w').close()\n"
    path = make_dlpk(tmp_path / "m.dlpk", extra={
        "ModelCharacteristics\\show_results.png": b"png", "ArcGISInstanceDetector.py": script,
    })
    events: list[tuple[int, int, str]] = []
    dest = tmp_path / "extracted"
    info = extract_dlpk(path, dest, progress=lambda d, t, m: events.append((d, t, m)))
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == [
        "ArcGISInstanceDetector.py", "ModelCharacteristics/loss_graph.png",
        "ModelCharacteristics/show_results.png", "model.emd", "model.pth",
    ]
    assert (dest / "model.pth").read_bytes() == b"\x80weights" * 100
    assert (dest / "ArcGISInstanceDetector.py").read_text() == script
    assert not marker.exists() and "ArcGISInstanceDetector" not in sys.modules
    assert info.model_file == "model.pth"
    assert events[-1] == (info.total_size, info.total_size, "extracted")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_extract_refuses_a_folder_with_files(tmp_path: Path) -> None:
    path = make_dlpk(tmp_path / "m.dlpk")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(EngineInputError, match="not empty"):
        extract_dlpk(path, dest)
    assert [p.name for p in dest.iterdir()] == ["keep.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    extract_dlpk(path, empty)
    assert (empty / "model.emd").is_file()


def test_extract_cancelled_leaves_nothing(tmp_path: Path) -> None:
    path = make_dlpk(tmp_path / "m.dlpk")
    dest = tmp_path / "out"
    with pytest.raises(Cancelled):
        extract_dlpk(path, dest, should_stop=lambda: True)
    assert not dest.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.dlpk"]


def test_extract_damaged_member_is_refused(tmp_path: Path) -> None:
    path = make_dlpk(tmp_path / "m.dlpk")
    data = bytearray(path.read_bytes())
    start = data.index(b"PK\x03\x04", data.index(b"model.pth"))  # next member after the weights
    data[start - 20: start - 10] = b"\xff" * 10  # corrupt the end of model.pth's data
    path.write_bytes(bytes(data))
    with pytest.raises(PackageError, match="damaged"):
        extract_dlpk(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _model_folder(folder: Path) -> Path:
    (folder / "ModelCharacteristics").mkdir(parents=True)
    (folder / "model.emd").write_text(EMD)
    (folder / "model.pth").write_bytes(b"w" * 1000)
    (folder / "ModelCharacteristics" / "loss_graph.png").write_bytes(b"png")
    return folder


def test_write_dlpk_is_flat_and_readable(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "model")
    out = write_dlpk(folder, folder / "model.dlpk")  # the output inside the folder is skipped
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["model.emd", "model.pth",
                                      "ModelCharacteristics/loss_graph.png"]
        assert archive.getinfo("model.pth").compress_type == zipfile.ZIP_STORED
        assert archive.getinfo("model.emd").compress_type == zipfile.ZIP_DEFLATED
    assert inspect_dlpk(out).model_file == "model.pth"
    assert sorted(p.name for p in folder.iterdir()) == [
        "ModelCharacteristics", "model.dlpk", "model.emd", "model.pth",
    ]


def test_write_dlpk_refuses_invalid_folders(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "model")
    (folder / "model.pth").unlink()
    out = tmp_path / "model.dlpk"
    with pytest.raises(PackageError, match="ModelFile 'model.pth', which is not in the package"):
        write_dlpk(folder, out)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    (folder / "model.pth").symlink_to("/etc/hostname")
    with pytest.raises(EngineInputError, match="symbolic link"):
        write_dlpk(folder, out)
    with pytest.raises(EngineInputError, match="not a folder"):
        write_dlpk(tmp_path / "missing", out)


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_rewrite_emd_replaces_only_the_emd(tmp_path: Path) -> None:
    path = make_dlpk(tmp_path / "m.dlpk")
    before = _members(path)
    emd = inspect_dlpk(path).emd
    edited = emd.with_changes(classes=(EmdClass(1, "Tent", (1, 2, 3)),), description="tents")
    assert rewrite_emd(path, edited) == path
    after = _members(path)
    assert list(after) == list(before)
    assert {k: v for k, v in after.items() if k != "model.emd"} == {
        k: v for k, v in before.items() if k != "model.emd"
    }
    assert parse_emd(after["model.emd"]) == edited
    assert json.loads(after["model.emd"])["monitored_valid_loss"] == 0.4213  # extras kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.dlpk"]


def test_rewrite_emd_to_another_file_keeps_the_original(tmp_path: Path) -> None:
    path = make_dlpk(tmp_path / "m.dlpk")
    digest = sha256_file(path)
    out = rewrite_emd(path, inspect_dlpk(path).emd.with_changes(description="x"),
                      tmp_path / "copy.dlpk")
    assert sha256_file(path) == digest
    assert inspect_dlpk(out).emd.description == "x"


def test_rewrite_emd_failure_mid_write_leaves_old_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_dlpk(tmp_path / "m.dlpk")
    digest = sha256_file(path)
    emd = inspect_dlpk(path).emd.with_changes(description="never written")

    def crash(*args: Any, **kwargs: Any) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(package_module, "_copy", crash)
    with pytest.raises(OSError, match="disk full"):
        rewrite_emd(path, emd)
    assert sha256_file(path) == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.dlpk"]  # no temp file left
    assert inspect_dlpk(path).emd.description is None


def test_rewrite_emd_refuses_an_emd_that_breaks_the_package(tmp_path: Path) -> None:
    path = make_dlpk(tmp_path / "m.dlpk")
    digest = sha256_file(path)
    emd = inspect_dlpk(path).emd
    with pytest.raises(PackageError, match="ModelFile 'gone.pth'"):
        rewrite_emd(path, emd.with_changes(model_file="gone.pth"))
    with pytest.raises(PackageError, match="has no ModelType"):
        rewrite_emd(path, emd.with_changes(model_type=None))
    assert sha256_file(path) == digest


def test_sha256_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    assert sha256_file(path) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
