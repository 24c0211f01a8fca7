import io
import os
import stat
import struct
import zipfile

import pytest
from PIL import Image

from nets.engine.data import load_image_folder
from nets.server.upload import (UploadError, image_folders, looks_like_class_folder, resolve_inside, safe_extract_zip,
                                save_upload, uploads_dir)


def png(colour=(255, 0, 0)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buf, "PNG")
    return buf.getvalue()


def make_zip(entries, compression=zipfile.ZIP_DEFLATED) -> bytes:
    """entries: name -> bytes, or a ready ZipInfo -> bytes for hand-made headers."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def two_classes(prefix="") -> dict:
    return {f"{prefix}{cls}/{i}.png": png(colour) for cls, colour in (("cat", (255, 0, 0)), ("dog", (0, 0, 255)))
            for i in range(3)}


def nothing_written(dest):
    return not dest.exists() or list(dest.iterdir()) == []


def test_a_good_zip_unpacks_into_a_fresh_folder_that_trains(tmp_path):
    dest = uploads_dir(tmp_path)
    entries = two_classes("my pets/") | {"my pets/README.txt": b"hello", "__MACOSX/._x": b"junk"}
    first = safe_extract_zip(make_zip(entries), dest, "my pets.zip")
    second = safe_extract_zip(make_zip(entries), dest, "my pets.zip")
    assert first.folder != second.folder and first.folder.parent == dest.resolve()
    assert first.classes == ["cat", "dog"] and first.images == 6
    assert first.skipped == ["my pets/README.txt"]
    assert first.summary() == "6 images in 2 classes (cat, dog); skipped 1 files that are not images."
    assert sorted(p.name for p in first.folder.iterdir()) == ["cat", "dog"]  # the wrapping folder is dropped
    x, y, xt, yt, classes = load_image_folder(first.folder, 8, test_fraction=0.34)
    assert classes == ["cat", "dog"] and len(x) + len(xt) == 6
    assert not [p for p in dest.iterdir() if p.name.startswith(".partial")]


def test_train_test_layout_is_kept(tmp_path):
    entries = {f"{split}/{cls}/{i}.png": png() for split in ("train", "test") for cls in ("a", "b") for i in range(2)}
    out = safe_extract_zip(make_zip(entries), tmp_path)
    assert out.classes == ["a", "b"] and (out.folder / "train" / "a").is_dir() and (out.folder / "test" / "b").is_dir()


@pytest.mark.parametrize("name, words", [
    ("../evil.png", "climbs out"),
    ("cat/../../evil.png", "climbs out"),
    ("/etc/x.png", "absolute"),
    ("\\windows\\x.png", "absolute"),
    ("C:/x.png", "absolute"),
    ("cat/C:x.png", "drive letter"),
])
def test_paths_that_leave_the_folder_are_refused(tmp_path, name, words):
    dest = tmp_path / "uploads"
    with pytest.raises(UploadError, match=words):
        safe_extract_zip(make_zip(two_classes() | {name: png()}), dest)
    assert nothing_written(dest)
    assert not (tmp_path / "evil.png").exists()


def test_a_symlink_entry_is_refused(tmp_path):
    link = zipfile.ZipInfo("cat/link.png")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    dest = tmp_path / "uploads"
    with pytest.raises(UploadError, match="symbolic link"):
        safe_extract_zip(make_zip(two_classes() | {link: b"/etc/passwd"}), dest)
    assert nothing_written(dest)


def test_too_many_files_are_refused_before_extracting(tmp_path):
    entries = {f"c{i % 2}/{i}.png": b"x" for i in range(3000)}
    dest = tmp_path / "uploads"
    with pytest.raises(UploadError, match="3,000 files; the limit is 2,000"):
        safe_extract_zip(make_zip(entries, zipfile.ZIP_STORED), dest)
    assert nothing_written(dest)


def patch_sizes(data: bytes, name: bytes, size: int) -> bytes:
    """Rewrite the uncompressed size that the local header and the central directory claim."""
    out = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = 0
        while (at := out.find(sig, at)) != -1:
            name_len_at = 26 if sig == b"PK\x03\x04" else 28
            n = struct.unpack_from("<H", out, at + name_len_at)[0]
            header_len = 30 if sig == b"PK\x03\x04" else 46
            if out[at + header_len: at + header_len + n] == name:
                struct.pack_into("<I", out, at + offset, size)
            at += 4
    return bytes(out)


def test_an_entry_claiming_a_huge_size_is_refused(tmp_path):
    data = patch_sizes(make_zip(two_classes() | {"cat/big.png": b"\0" * 1000}), b"cat/big.png", 4_000_000_000)
    dest = tmp_path / "uploads"
    with pytest.raises(UploadError, match="unpacks to 3,815 MB; the limit is 200 MB"):
        safe_extract_zip(data, dest)
    assert nothing_written(dest)


def test_a_bomb_within_the_size_limit_is_refused_by_its_ratio(tmp_path):
    data = make_zip(two_classes() | {"cat/bomb.png": b"\0" * (8 * 2**20)})
    assert len(data) < 100_000
    with pytest.raises(UploadError, match="zip bomb"):
        safe_extract_zip(data, tmp_path / "uploads")


def test_a_header_that_understates_the_size_is_caught_while_extracting(tmp_path):
    data = patch_sizes(make_zip(two_classes() | {"cat/liar.png": b"\0" * 500_000}), b"cat/liar.png", 100)
    dest = tmp_path / "uploads"
    with pytest.raises(UploadError, match="liar.png"):
        safe_extract_zip(data, dest)
    assert nothing_written(dest)  # the half-written folder is removed


def test_limits_can_be_tightened(tmp_path):
    with pytest.raises(UploadError, match="limit is 1 MB"):
        safe_extract_zip(make_zip(two_classes() | {"cat/x.png": b"\x01" * 1_200_000}, zipfile.ZIP_STORED),
                         tmp_path, max_bytes=2**20)
    with pytest.raises(UploadError, match="limit is 5"):
        safe_extract_zip(make_zip(two_classes()), tmp_path, max_files=5)


@pytest.mark.parametrize("data, words", [
    (b"not a zip at all", "not a .zip"),
    (b"PK\x03\x04" + b"\0" * 40, "not a .zip"),
    (make_zip({"a.png": png(), "b.png": png()}), "one folder per class"),
    (make_zip({"cat/1.png": png(), "cat/2.png": png()}), "at least two class folders"),
    (make_zip({"cat/deep/1.png": png(), "dog/2.png": png()}), "cat/deep/1.png"),
    (make_zip({"notes.txt": b"x", "cat/readme.md": b"y"}), "no images"),
    (make_zip({"train/a/1.png": png(), "train/b/1.png": png()}), "no test folder"),
])
def test_unusable_zips_get_a_plain_message(tmp_path, data, words):
    with pytest.raises(UploadError, match=words):
        safe_extract_zip(data, tmp_path / "uploads")


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_entries_are_refused(tmp_path):
    data = make_zip({"cat/1.png": png(), "dog/1.png": png()})
    with zipfile.ZipFile(buf := io.BytesIO(data), "a") as z:
        z.writestr("cat/1.png", png())
    with pytest.raises(UploadError, match="twice"):
        safe_extract_zip(buf.getvalue(), tmp_path / "uploads")


def test_resolve_inside_refuses_everything_outside_the_root(tmp_path):
    root = tmp_path / "data"
    (root / "uploads" / "pets").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    (root / "escape").symlink_to(tmp_path / "secret")
    assert resolve_inside(root, "uploads/pets") == (root / "uploads" / "pets").resolve()
    assert resolve_inside(root, str(root / "uploads" / "pets")) == (root / "uploads" / "pets").resolve()
    for typed in ("../secret", str(tmp_path / "secret"), "escape", "uploads/../../secret", "/", "", ".", "~"):
        with pytest.raises(UploadError):
            resolve_inside(root, typed)
    with pytest.raises(UploadError, match="no folder uploads/missing in the data folder"):
        resolve_inside(root, "uploads/missing")


def test_image_folders_lists_class_folders_inside_the_root_only(tmp_path):
    root = tmp_path / "data"
    older = save_upload(make_zip(two_classes()), root, "older.zip", "name:me").folder
    newer = save_upload(make_zip(two_classes()), root, "newer.zip", "name:me").folder
    mine = root / "mine"
    for cls in ("x", "y"):
        (mine / cls).mkdir(parents=True)
        (mine / cls / "1.png").write_bytes(png())
    (root / "cifar-10-batches-py").mkdir()
    (root / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"x")
    outside = tmp_path / "outside"
    for cls in ("x", "y"):
        (outside / cls).mkdir(parents=True)
        (outside / cls / "1.png").write_bytes(png())
    (root / "link").symlink_to(outside)
    assert image_folders(root, "name:me") == [newer, older, mine.resolve()]
    assert looks_like_class_folder(outside) and not looks_like_class_folder(root / "cifar-10-batches-py")
    # the catalogue's layout (train/ and test/ splits) counts, linked class folders do not
    split = tmp_path / "split"
    for s, cls in [(s, c) for s in ("train", "test") for c in ("x", "y")]:
        (split / s / cls).mkdir(parents=True)
        (split / s / cls / "1.png").write_bytes(png())
    linked = tmp_path / "linked"
    (linked / "x").mkdir(parents=True)
    (linked / "x" / "1.png").write_bytes(png())
    (linked / "y").symlink_to(outside / "y")
    assert looks_like_class_folder(split) and not looks_like_class_folder(linked)
    assert image_folders(tmp_path / "nowhere", "name:me") == []
