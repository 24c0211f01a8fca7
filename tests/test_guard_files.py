"""Issue 19, items 1 and 2 (paths, owned uploads) and item 9's image and zip-name crashes: each attack
as the issue describes it, refused with a plain message that names nothing outside the data root."""
import io
import struct
import zipfile
import zlib

import pytest
from PIL import Image

from nets.engine.config import ConfigError, TrainConfig, validate
from nets.engine.data import DatasetError, load_dataset
from nets.experiment import prepare_data
from nets.server.identity import LECTURER
from nets.server.jobs import JobManager
from nets.server.upload import (UploadError, clean_uploads, delete_upload, folder_refusal, image_folders, my_uploads,
                                save_upload, share_upload, usage)

OUTSIDE = ("/etc", "../../..")


def png(colour=(255, 0, 0), size=(8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height pixels (a few dozen bytes, never decodable): what
    Pillow reads before anything is decoded, as in a 164 KB 13,000² PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def make_zip(entries: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def two_classes(n=3) -> dict:
    return {f"{cls}/{i}.png": png(colour) for cls, colour in (("cat", (250, 0, 0)), ("dog", (0, 0, 250)))
            for i in range(n)}


def class_folder(folder, classes=("cat", "dog"), n=3):
    for k, cls in enumerate(classes):
        (folder / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            (folder / cls / f"{i}.png").write_bytes(png((80 * k, 20 * i, 0)))
    return folder


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "data"
    path.mkdir()
    return path


def folder_cfg(folder) -> TrainConfig:
    return TrainConfig(dataset="folder", folder=str(folder), model="mlp", hidden=(8,), image_size=8, epochs=1)


# ------------------------------------------------------------------------------------- item 1: paths
@pytest.mark.parametrize("folder", OUTSIDE)
def test_a_folder_outside_the_data_root_is_refused_by_the_job_service(root, tmp_path, folder):
    jobs = JobManager(tmp_path / "ck", data_dir=root, backend="thread")
    with pytest.raises(ConfigError) as refused:
        jobs.submit(folder_cfg(folder), owner="name:alice")
    message = str(refused.value)
    assert "not inside the data folder" in message
    assert "/etc" not in message and "apt" not in message and str(root) not in message  # no listing, no paths
    assert jobs.views() == []
    with pytest.raises(ConfigError, match="not inside the data folder"):
        validate(folder_cfg(folder), data_root=root)


@pytest.mark.parametrize("folder", OUTSIDE)
def test_load_dataset_refuses_a_folder_outside_even_when_validate_is_skipped(root, folder):
    """The worker loads through prepare_data/load_dataset with the job's data dir: it checks again."""
    for load in (lambda: load_dataset("folder", root, folder=folder, image_size=8),
                 lambda: prepare_data(folder_cfg(folder), root)):
        with pytest.raises(DatasetError) as refused:
            load()
        assert "not inside the data folder" in str(refused.value)
        assert "PackageKit" not in str(refused.value) and "apt" not in str(refused.value)


def test_a_folder_of_images_outside_the_data_root_does_not_train(root, tmp_path):
    outside = class_folder(tmp_path / "outside")
    with pytest.raises(DatasetError, match="not inside the data folder") as refused:
        load_dataset("folder", root, folder=outside, image_size=8)
    assert str(outside) not in str(refused.value)


def test_a_relative_folder_is_read_from_the_data_root_not_the_working_directory(root, tmp_path, monkeypatch):
    class_folder(root / "pets", ("cat", "dog"))
    elsewhere = tmp_path / "cwd"
    class_folder(elsewhere / "pets", ("secret_a", "secret_b", "secret_c"))
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("NNLAB_DATA_DIR", str(root))
    assert folder_cfg("pets").num_classes() == 2  # what the form and the job budget count
    assert load_dataset("folder", root, folder="pets", image_size=8).classes == ["cat", "dog"]
    assert prepare_data(folder_cfg("pets"), root).classes == ["cat", "dog"]
    validate(folder_cfg("pets"), data_root=root)


def test_a_symlink_out_of_the_data_root_is_refused(root, tmp_path):
    outside = class_folder(tmp_path / "outside")
    (root / "escape").symlink_to(outside)
    (root / "uploads").mkdir()
    (root / "uploads" / "link").symlink_to(outside)
    for folder in ("escape", str(root / "escape"), "uploads/link"):
        with pytest.raises(ConfigError, match="not inside"):
            validate(folder_cfg(folder), data_root=root)
        with pytest.raises(DatasetError, match="not inside"):
            load_dataset("folder", root, folder=folder, image_size=8)
        assert "not inside" in folder_refusal(root, folder, LECTURER)
    assert image_folders(root, LECTURER) == []


def test_folder_messages_name_paths_relative_to_the_data_root(root):
    class_folder(root / "pets", ("cat",))
    (root / "pets" / "dog").mkdir()
    with pytest.raises(DatasetError) as refused:
        load_dataset("folder", root, folder="pets", image_size=8)
    assert "in pets." in str(refused.value) and str(root) not in str(refused.value)


# ------------------------------------------------------------------------------------- item 2: owned uploads
def test_another_students_upload_is_not_listed_nor_usable_until_shared(root, tmp_path):
    bobs = save_upload(make_zip(two_classes()), root, "bobs pets.zip", "name:bob").folder
    alices = save_upload(make_zip(two_classes()), root, "alices.zip", "name:alice").folder
    class_folder(root / "lecturers")  # the lecturer's own folder in the data root: everyone's
    assert image_folders(root, "name:alice") == [alices, (root / "lecturers").resolve()]
    assert "another student's upload" in folder_refusal(root, bobs, "name:alice")
    assert folder_refusal(root, alices, "name:alice") is None
    assert folder_refusal(root, "lecturers", "name:alice") is None
    assert folder_refusal(root, bobs, LECTURER) is None and folder_refusal(root, bobs, "anon:" + "0" * 32) is None
    assert bobs in image_folders(root, LECTURER)
    jobs = JobManager(tmp_path / "ck", data_dir=root, backend="thread")
    with pytest.raises(ConfigError, match="another student's upload"):
        jobs.submit(folder_cfg(bobs), owner="name:alice")

    with pytest.raises(UploadError, match="Only the lecturer"):
        share_upload(root, bobs, "name:bob")
    share_upload(root, bobs, LECTURER)
    assert folder_refusal(root, bobs, "name:alice") is None
    assert image_folders(root, "name:alice") == [alices, bobs, (root / "lecturers").resolve()]


def test_a_flood_of_zero_filled_png_files_is_refused(root):
    """The issue's zip: 1,990 zero-filled 100 KB '.png' files, 0.42 MB zipped, each under the ratio
    check's floor. Every member must be an image whose header Pillow reads."""
    data = make_zip({f"c{i % 2}/{i}.png": b"\0" * 100_000 for i in range(1990)})
    assert len(data) < 500_000
    with pytest.raises(UploadError, match="not an image"):
        save_upload(data, root, "flood.zip", "name:mallory")
    assert my_uploads(root, "name:mallory") == []
    assert not [p for p in (root / "uploads").rglob("*.png")]  # nothing was written


def test_each_student_has_a_quota_checked_before_writing(root, monkeypatch):
    monkeypatch.setenv("NNLAB_UPLOADS_PER_STUDENT", "2")
    monkeypatch.setenv("NNLAB_UPLOAD_FILES_PER_STUDENT", "10")
    save_upload(make_zip(two_classes()), root, "one.zip", "name:alice")
    second = save_upload(make_zip(two_classes(2)), root, "two.zip", "name:alice").folder
    assert usage(root, "name:alice").files == 10
    with pytest.raises(UploadError, match="most one student may keep"):
        save_upload(make_zip(two_classes(1)), root, "three.zip", "name:alice")
    save_upload(make_zip(two_classes()), root, "bob.zip", "name:bob")  # another student's quota is their own
    with pytest.raises(UploadError, match="Only the student who uploaded it"):
        delete_upload(root, second, "name:bob")
    delete_upload(root, second, "name:alice")
    assert not second.exists() and usage(root, "name:alice").uploads == 1
    with pytest.raises(UploadError, match="over your quota"):  # 6 + 6 images > 10
        save_upload(make_zip(two_classes()), root, "big.zip", "name:alice")
    assert len(list((root / "uploads").rglob("*.png"))) == 12  # the refused zips wrote nothing
    monkeypatch.setenv("NNLAB_UPLOAD_QUOTA_MB", "0")
    with pytest.raises(UploadError, match="over your quota"):
        save_upload(make_zip(two_classes(1)), root, "small.zip", "name:bob")
    with pytest.raises(UploadError, match="Sign in"):
        save_upload(make_zip(two_classes(1)), root, "x.zip", "")


def test_old_uploads_are_cleaned_up_by_the_lecturer_only(root):
    save_upload(make_zip(two_classes()), root, "a.zip", "name:alice")
    legacy = class_folder(root / "uploads" / "pets-0123abcd")  # unpacked before uploads had owners
    assert folder_refusal(root, legacy, "name:alice") is not None and legacy not in image_folders(root, "name:alice")
    with pytest.raises(UploadError, match="Only the lecturer"):
        clean_uploads(root, 0, "name:alice")
    assert clean_uploads(root, 1, LECTURER)[0] == 0  # nothing a day old yet
    count, freed = clean_uploads(root, 0, LECTURER)
    assert count == 2 and freed > 0 and my_uploads(root, "name:alice") == [] and not legacy.exists()


def test_a_13000_square_png_member_is_refused(root):
    data = make_zip(two_classes() | {"cat/huge.png": png_header(13_000, 13_000)})
    with pytest.raises(UploadError, match="cat/huge.png.*13,000×13,000 pixels"):
        save_upload(data, root, "huge.zip", "name:alice")
    assert my_uploads(root, "name:alice") == []


@pytest.mark.parametrize("side", [13_000, 14_000])
def test_a_huge_image_in_a_folder_gives_a_plain_message(root, side):
    class_folder(root / "pets")
    (root / "pets" / "cat" / "big.png").write_bytes(png_header(side, side))
    with pytest.raises(DatasetError, match="^pets/cat/big.png is too large to read") as refused:
        load_dataset("folder", root, folder="pets", image_size=8)
    assert str(root) not in str(refused.value) and "DecompressionBomb" not in str(refused.value)


def test_a_300_character_member_name_gives_a_plain_message(root):
    data = make_zip(two_classes() | {"cat/" + "a" * 296 + ".png": png()})
    with pytest.raises(UploadError, match="too long") as refused:
        save_upload(data, root, "long.zip", "name:alice")
    assert str(root) not in str(refused.value) and "Errno" not in str(refused.value)
    assert my_uploads(root, "name:alice") == []
