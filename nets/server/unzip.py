"""A zip of images unpacked safely: every member checked (names, links, sizes, image headers) before a byte is written."""
# Everything a browser sends is hostile until checked: a zip can name files outside the target
# (`../x`, `/etc/x`, `C:\\x`), hold symlinks, names longer than the filesystem allows, claim or hide a
# huge uncompressed size, hold thousands of entries, or files named .png that are no images (zeros
# pass the ratio check). Every check runs on the zip's directory and the members' headers before a
# byte is written, and bytes are counted again while extracting because the directory's sizes can
# lie. Nothing is unpickled: only image files are written, and only Pillow ever reads them. Who
# owns an upload, and the quota, are nets.server.upload's.
from __future__ import annotations

import io
import re
import shutil
import stat
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from nets.engine.catalog import FOLDER_SPLITS as SPLITS, IMAGE_SUFFIXES
from nets.engine.imagefile import ImageRefused, ImageTooLarge, header

MAX_FILES, MAX_BYTES, MAX_RATIO = 2000, 200 * 2**20, 200
MAX_NAME = 255        # bytes in one path component: most filesystems refuse longer (OSError 36)
MAX_PATH = 1024       # characters in a whole member name
HEAD = 2**20          # bytes of each image read for its header check before anything is written
RATIO_FLOOR = 2**20   # images barely compress: a large entry compressed > MAX_RATIO times is a bomb
CHUNK = 2**16


class UploadError(ValueError):
    """A zip or folder that cannot be used; the message says why in plain words."""


@dataclass
class Extracted:
    folder: Path                  # pass as TrainConfig.folder
    classes: list[str]
    images: int
    skipped: list[str] = field(default_factory=list)  # entries that are not images

    def summary(self) -> str:
        names = ", ".join(self.classes[:8]) + (", …" if len(self.classes) > 8 else "")
        skipped = f"; skipped {len(self.skipped)} files that are not images" if self.skipped else ""
        return f"{self.images} images in {len(self.classes)} classes ({names}){skipped}."


def _parts(name: str) -> list[str]:
    """The path components of a zip entry name, refusing any that could leave the target folder."""
    if "\x00" in name:
        raise UploadError(f"The zip holds an entry with a broken name ({name!r}).")
    if len(name) > MAX_PATH or any(len(p.encode()) > MAX_NAME for p in name.replace("\\", "/").split("/")):
        raise UploadError(f"The zip holds a name too long for a file ({name[:40]}…: {len(name)} characters; "
                          f"at most {MAX_NAME} in one part). Rename it and zip again.")
    posix = name.replace("\\", "/")
    if posix.startswith("/") or re.match(r"^[A-Za-z]:", posix):
        raise UploadError(f"The zip holds an absolute path ({name}); refusing to unpack it.")
    parts = [p for p in PurePosixPath(posix).parts if p not in ("", ".")]
    if ".." in parts:
        raise UploadError(f"The zip holds a path that climbs out of its folder ({name}); refusing to unpack it.")
    if any(re.match(r"^[A-Za-z]:", p) for p in parts):
        raise UploadError(f"The zip holds a drive letter in a path ({name}); refusing to unpack it.")
    return parts


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _ignorable(parts: list[str]) -> bool:
    """Archive litter from macOS and Windows: not the user's images, not worth a report."""
    return parts[0] == "__MACOSX" or parts[-1] in (".DS_Store", "Thumbs.db", "desktop.ini")


def _class_layout(images: list[list[str]]) -> tuple[int, list[str]]:
    """How many leading folders to drop (one wrapping folder is common) and the class names.
    Accepts <class>/<image> and train|test/<class>/<image>, each optionally inside one folder."""
    if not images:
        raise UploadError("The zip holds no images (.png, .jpg, …).")
    drop = 0
    while all(len(p) > drop + 2 for p in images) and len({p[drop] for p in images}) == 1 \
            and images[0][drop] not in SPLITS:
        drop += 1
    rest = [p[drop:] for p in images]
    split = all(p[0] in SPLITS and len(p) == 3 for p in rest)
    if split:
        classes = sorted({p[1] for p in rest})
        missing = [s for s in SPLITS if s not in {p[0] for p in rest}]
        if missing:
            raise UploadError(f"The zip has a train/test layout but no {missing[0]} folder.")
    else:
        loose = next((p for p in images if len(p) - drop != 2), None)
        if loose:
            raise UploadError("The zip needs one folder per class holding its images, like cats/1.png and "
                              f"dogs/7.png; it has {'/'.join(loose)}.")
        classes = sorted({p[0] for p in rest})
    if len(classes) < 2:
        raise UploadError(f"The zip needs at least two class folders; it has {classes or 'none'}.")
    return drop, classes


def safe_name(hint: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(hint).stem).strip("-")[:40] or "images"
    return f"{stem}-{uuid.uuid4().hex[:8]}"


def safe_extract_zip(data: bytes, dest_root: str | Path, name: str = "images.zip", *,
                     max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES,
                     max_ratio: float = MAX_RATIO, max_pixels: int | None = None,
                     dest_name: str | None = None) -> Extracted:
    """Unpack the images of a zip (one folder per class) into a fresh sub-folder of `dest_root`
    (`dest_name`, else one made from `name`). Every image member's header is read by Pillow and
    checked against the pixel limit (nets.engine.imagefile) first. Raises UploadError, having
    written nothing, for anything unsafe."""
    if len(data) > max_bytes:
        raise UploadError(f"The zip is {len(data) / 2**20:.0f} MB; the limit is {max_bytes / 2**20:.0f} MB.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise UploadError("That file is not a .zip archive (or it is damaged).") from None
    with archive:
        entries = [i for i in archive.infolist() if not i.is_dir()]
        if len(entries) > max_files:
            raise UploadError(f"The zip holds {len(entries):,} files; the limit is {max_files:,}.")
        total = sum(i.file_size for i in entries)
        if total > max_bytes:
            raise UploadError(f"The zip unpacks to {total / 2**20:,.0f} MB; the limit is {max_bytes / 2**20:.0f} MB.")
        images, skipped = [], []
        for info in archive.infolist():
            parts = _parts(info.filename)
            if _is_symlink(info):
                raise UploadError(f"The zip holds a symbolic link ({info.filename}); refusing to unpack it.")
            if info.is_dir() or not parts or _ignorable(parts):
                continue
            if info.file_size > RATIO_FLOOR and info.file_size > max_ratio * max(info.compress_size, 1):
                raise UploadError(f"{info.filename} would unpack {info.file_size / max(info.compress_size, 1):,.0f} "
                                  "times larger than it is packed: that is a zip bomb, not images.")
            if PurePosixPath(parts[-1]).suffix.lower() in IMAGE_SUFFIXES and not parts[-1].startswith("."):
                images.append((info, parts))
            else:
                skipped.append(info.filename)
        drop, classes = _class_layout([p for _, p in images])
        for info, _ in images:
            _check_image(archive, info, max_pixels)
        dest_root = Path(dest_root)
        dest_root.mkdir(parents=True, exist_ok=True)
        final = dest_root / (dest_name or safe_name(name))
        work = dest_root / f".partial-{final.name}"
        try:
            _write(archive, [(i, p[drop:]) for i, p in images], work, max_bytes)
            work.rename(final)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return Extracted(final.resolve(), classes, len(images), skipped)


def _write(archive: zipfile.ZipFile, members, work: Path, max_bytes: int) -> None:
    work.mkdir()
    root = work.resolve()
    written = 0
    for info, parts in members:
        target = work.joinpath(*parts)
        if not target.resolve().is_relative_to(root):  # belt and braces after _parts
            raise UploadError(f"{info.filename} would land outside the upload folder.")
        target.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        try:
            with archive.open(info) as src, open(target, "xb") as out:
                while chunk := src.read(CHUNK):
                    size += len(chunk)
                    written += len(chunk)
                    if size > info.file_size or written > max_bytes:
                        raise UploadError(f"{info.filename} unpacks to more than its header says: "
                                          "refusing a zip that lies about its size.")
                    out.write(chunk)
        except FileExistsError:
            raise UploadError(f"The zip holds {info.filename} twice.") from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError) as e:
            raise UploadError(f"{info.filename} cannot be unpacked ({e}).") from None
        except OSError as e:  # a name the filesystem refuses, a full disk: the reason, never the path
            raise UploadError(f"{info.filename[:80]} cannot be written here ({e.strerror or type(e).__name__}).") from None


def _check_image(archive: zipfile.ZipFile, info: zipfile.ZipInfo, max_pixels: int | None) -> None:
    """A member must be an image whose header Pillow reads, within the pixel limit; only its first
    HEAD bytes are inflated (all of it when the header lies further in), nothing is decoded."""
    try:
        with archive.open(info) as src:
            head = src.read(HEAD)
            try:
                header(io.BytesIO(head), max_pixels)
                return
            except ImageTooLarge:
                raise
            except ImageRefused:
                if len(head) < HEAD:
                    raise
                head += src.read(max(info.file_size - len(head), 0) + 1)
            header(io.BytesIO(head), max_pixels)
    except ImageRefused as e:
        raise UploadError(f"{info.filename} is refused: {e}.") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError, OSError) as e:
        raise UploadError(f"{info.filename} cannot be unpacked ({e}).") from None
