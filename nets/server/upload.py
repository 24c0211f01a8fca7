"""The user's own images: owned uploads with a per-student quota, who may use which folder, and the folder rule for pages.

An upload lives in <data root>/uploads/<owner key>/<folder>/, the key a hash of the owner's identity,
next to owner.json (the identity, and per upload: its zip's name, created time, files, bytes and
the shared flag). Its owner and the lecturer may train on it, anyone when the lecturer shared it; a
laptop tab (an 'anon:' identity, laptop mode being single-user) may use every upload. Folders the
lecturer put in the data root outside uploads/ are everyone's. The quota (uploads, files, bytes per
student; pixels per image) is checked against the zip's directory before a byte is written; the zip
itself is checked and unpacked by nets.server.unzip. Every limit is a constant that an environment
variable overrides (LIMITS; defaults in nets.settings).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
import zipfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from nets import settings
from nets.engine.catalog import IMAGE_SUFFIXES, FolderError, default_data_dir, folder_class_dirs, folder_inside
from nets.files import atomic_write_json
from nets.server.identity import LECTURER, shown_name
from nets.server.unzip import (MAX_BYTES, MAX_FILES, MAX_RATIO, Extracted, UploadError,  # noqa: F401 (re-exported)
                               safe_extract_zip, safe_name)

UPLOADS = "uploads"
RECORD = "owner.json"
# name: its environment variable (nets.settings holds the default; a mistyped value gives the default)
LIMITS = {"uploads": "NNLAB_UPLOADS_PER_STUDENT", "megabytes": "NNLAB_UPLOAD_QUOTA_MB",
          "files": "NNLAB_UPLOAD_FILES_PER_STUDENT"}


def limit(name: str) -> int:
    return settings.get(LIMITS[name])


def _root(data_root: str | Path | None) -> Path:
    return Path(data_root) if data_root is not None else default_data_dir()


def uploads_dir(data_root: str | Path | None) -> Path:
    return _root(data_root) / UPLOADS


def owner_key(owner: str) -> str:
    """A filesystem-safe folder name for an identity (whatever characters it holds)."""
    return "u" + hashlib.sha256(owner.encode()).hexdigest()[:24]


def owner_dir(data_root: str | Path, owner: str) -> Path:
    return uploads_dir(data_root) / owner_key(owner)


def _may_use_all(who: str) -> bool:
    return who == LECTURER or who.startswith("anon:")


# ------------------------------------------------------------------------------------- records
@dataclass
class Upload:
    folder: Path      # resolved; pass str(folder) as TrainConfig.folder
    owner: str
    name: str         # the zip's name as uploaded
    created: float
    files: int
    bytes: int
    shared: bool = False

    def label(self, viewer: str) -> str:
        whose = "yours" if viewer == self.owner else f"{shown_name(self.owner)}'s" + (", shared" if self.shared else "")
        return f"{self.name} · {self.files} images · {megabytes(self.bytes)} · {whose}"


def megabytes(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{max(1, round(n / 1024))} KB"


def _read_record(folder: Path) -> dict:
    import json
    try:
        record = json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict) or not isinstance(record.get("owner"), str) \
            or not isinstance(record.get("uploads"), dict):
        return {}
    return record


def _uploads_in(key_dir: Path) -> list[Upload]:
    record = _read_record(key_dir)
    out = []
    for name, e in record.get("uploads", {}).items():
        folder = key_dir / str(name)
        if isinstance(e, dict) and folder.is_dir() and not folder.is_symlink():
            out.append(Upload(folder.resolve(), record["owner"], str(e.get("name", name)), float(e.get("created", 0)),
                              int(e.get("files", 0)), int(e.get("bytes", 0)), bool(e.get("shared"))))
    return sorted(out, key=lambda u: u.created, reverse=True)


def my_uploads(data_root: str | Path, owner: str) -> list[Upload]:
    """`owner`'s uploads, newest first."""
    return _uploads_in(owner_dir(data_root, owner)) if owner else []


def all_uploads(data_root: str | Path) -> list[Upload]:
    """Every recorded upload, newest first (the lecturer's view)."""
    try:
        keys = [Path(e.path) for e in os.scandir(uploads_dir(data_root)) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    return sorted((u for k in keys for u in _uploads_in(k)), key=lambda u: u.created, reverse=True)


def find_upload(data_root: str | Path, folder: str | Path) -> Upload | None:
    """The recorded upload that `folder` is (or lies in); None for any other folder."""
    data_root = _root(data_root)
    try:
        target = folder_inside(data_root, folder)
    except FolderError:
        return None
    rel = target.relative_to(Path(data_root).resolve()).parts
    if len(rel) < 3 or rel[0] != UPLOADS:
        return None
    return next((u for u in _uploads_in(uploads_dir(data_root) / rel[1]) if u.folder.name == rel[2]), None)


@contextlib.contextmanager
def _locked(key_dir: Path):
    """One writer per owner's record: two uploads at once cannot both pass the quota."""
    key_dir.mkdir(parents=True, exist_ok=True)
    with open(key_dir / ".lock", "a") as f:
        try:
            import fcntl
            fcntl.flock(f, fcntl.LOCK_EX)
        except ImportError:  # Windows: a laptop, one user
            pass
        yield


def _change_record(key_dir: Path, owner: str, change) -> None:
    record = _read_record(key_dir) or {"owner": owner, "uploads": {}}
    change(record["uploads"])
    atomic_write_json(key_dir / RECORD, record)


# ------------------------------------------------------------------------------------- the quota
@dataclass
class Usage:
    uploads: int
    files: int
    bytes: int

    def text(self) -> str:
        return (f"{self.uploads} of {limit('uploads')} uploads, {self.files:,} of {limit('files'):,} images, "
                f"{megabytes(self.bytes)} of {limit('megabytes'):,} MB")


def usage(data_root: str | Path, owner: str) -> Usage:
    mine = my_uploads(data_root, owner)
    return Usage(len(mine), sum(u.files for u in mine), sum(u.bytes for u in mine))


def _quota_problem(data: bytes, used: Usage) -> str | None:
    """Why this zip would take its owner over the quota, judged from its directory (before writing)."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as z:
            members = [i for i in z.infolist() if not i.is_dir() and Path(i.filename).suffix.lower() in IMAGE_SUFFIXES]
    except (zipfile.BadZipFile, ValueError, OSError):
        return None  # safe_extract_zip says what is wrong with it
    files, size = len(members), sum(i.file_size for i in members)
    if used.uploads + 1 > limit("uploads"):
        return f"You have {used.uploads} uploads, the most one student may keep; delete one first."
    if used.files + files > limit("files") or used.bytes + size > limit("megabytes") * 2**20:
        return (f"This zip ({files:,} images, {size / 2**20:,.1f} MB unpacked) would take you over your quota "
                f"({used.text()}); delete an upload first.")
    return None


def save_upload(data: bytes, data_root: str | Path, name: str, owner: str) -> Extracted:
    """Check a zip against `owner`'s quota, then unpack it (nets.server.unzip) as their upload.
    UploadError, having written nothing, when it is refused."""
    if not owner:
        raise UploadError("Sign in to upload images.")
    key_dir = owner_dir(data_root, owner)
    with _locked(key_dir):
        if owner != LECTURER and (why := _quota_problem(data, usage(data_root, owner))):
            raise UploadError(why)
        out = safe_extract_zip(data, key_dir, name, max_files=MAX_FILES, max_bytes=MAX_BYTES, max_ratio=MAX_RATIO)
        files = [p for p in out.folder.rglob("*") if p.is_file()]

        def add(uploads):
            uploads[out.folder.name] = {"name": Path(name).name[:80] or "images.zip", "created": time.time(),
                                        "files": len(files), "bytes": sum(p.stat().st_size for p in files),
                                        "shared": False}
        _change_record(key_dir, owner, add)
    return out


# ------------------------------------------------------------------------------------- who may use what
def folder_refusal(data_root: str | Path, folder: str | Path, owner: str) -> str | None:
    """None when `owner` may train on `folder`, else the plain reason (naming nothing outside).
    `data_root` None: nets.engine.catalog.default_data_dir()."""
    data_root = _root(data_root)
    try:
        target = folder_inside(data_root, folder)
    except FolderError as e:
        return str(e)
    rel = target.relative_to(Path(data_root).resolve()).parts
    if rel[0] != UPLOADS or _may_use_all(owner):
        return None
    upload = find_upload(data_root, target)
    if upload is not None and (upload.owner == owner or upload.shared):
        return None
    return "That folder is another student's upload; only its owner and the lecturer can use it, unless it is shared."


def resolve_inside(root: str | Path, typed: str | Path) -> Path:
    """The folder `typed` names inside `root` (nets.engine.catalog.folder_inside, the one rule), with
    UploadError instead of FolderError."""
    try:
        return folder_inside(root, typed)
    except FolderError as e:
        raise UploadError(str(e)) from None


def looks_like_class_folder(path: Path) -> bool:
    """At least two class folders holding an image, in the catalogue's layout (what load_image_folder
    reads); linked class folders do not count."""
    found = 0
    for sub in folder_class_dirs(path, follow_symlinks=False):
        if _has_image(sub):
            found += 1
            if found >= 2:
                return True
    return False


def _has_image(folder: str | Path) -> bool:
    try:
        return any(e.is_file() and Path(e.name).suffix.lower() in IMAGE_SUFFIXES for e in os.scandir(folder))
    except OSError:
        return False


def image_folders(data_root: str | Path, owner: str) -> list[Path]:
    """The folders `owner` may train on: their own uploads (newest first), then the others they may
    use (shared ones; every upload for the lecturer or a laptop tab), then the data root's own
    sub-folders. Symlinks are not followed out of the root."""
    root = Path(data_root)
    if not root.is_dir():
        return []
    base = root.resolve()
    mine = [u.folder for u in my_uploads(root, owner)]
    others = [u.folder for u in all_uploads(root) if u.folder not in mine and (u.shared or _may_use_all(owner))]
    try:
        subs = [Path(e.path) for e in os.scandir(root) if e.is_dir(follow_symlinks=False)
                and not e.name.startswith(".") and e.name != UPLOADS]
    except OSError:
        subs = []
    return [p for p in mine + others if looks_like_class_folder(p)] + \
        sorted(p.resolve() for p in subs if looks_like_class_folder(p) and p.resolve().is_relative_to(base))


def folder_label(data_root: str | Path, folder: str | Path, viewer: str) -> str:
    """A folder as the picker shows it: an upload by its zip's name and whose it is, else its path
    relative to the data root."""
    upload = find_upload(data_root, folder)
    if upload is not None:
        return upload.label(viewer)
    try:
        return Path(folder).resolve().relative_to(Path(data_root).resolve()).as_posix()
    except ValueError:
        return Path(folder).name


# ------------------------------------------------------------------------------------- delete, share, clean up
def _allowed(upload: Upload | None, who: str) -> Upload:
    if upload is None:
        raise UploadError("That folder is not an upload.")
    if who != upload.owner and not _may_use_all(who):
        raise UploadError("Only the student who uploaded it, or the lecturer, can change or delete it.")
    return upload


def delete_upload(data_root: str | Path, folder: str | Path, who: str) -> None:
    """Delete an upload: its owner or the lecturer (or a laptop tab)."""
    upload = _allowed(find_upload(data_root, folder), who)
    key_dir = upload.folder.parent
    with _locked(key_dir):
        shutil.rmtree(upload.folder, ignore_errors=True)
        _change_record(key_dir, upload.owner, lambda uploads: uploads.pop(upload.folder.name, None))


def share_upload(data_root: str | Path, folder: str | Path, who: str, shared: bool = True) -> None:
    """Share an upload with the whole class (or stop sharing it): the lecturer's action."""
    upload = find_upload(data_root, folder)
    if who != LECTURER:
        raise UploadError("Only the lecturer can share an upload with the class.")
    upload = _allowed(upload, who)
    with _locked(upload.folder.parent):
        _change_record(upload.folder.parent, upload.owner,
                       lambda uploads: uploads.get(upload.folder.name, {}).update(shared=bool(shared)))


def clean_uploads(data_root: str | Path, older_than_days: float, who: str) -> tuple[int, int]:
    """Delete every upload older than `older_than_days` (the lecturer's clean-up); (how many, bytes freed)."""
    if not _may_use_all(who):
        raise UploadError("Only the lecturer can clean up uploads.")
    cutoff, count, freed = time.time() - older_than_days * 86400, 0, 0
    for upload in all_uploads(data_root):
        if upload.created < cutoff:
            delete_upload(data_root, upload.folder, who)
            count, freed = count + 1, freed + upload.bytes
    for legacy in _legacy_uploads(data_root):  # unpacked before uploads had owners
        if legacy.stat().st_mtime < cutoff:
            size = sum(p.stat().st_size for p in legacy.rglob("*") if p.is_file() and not p.is_symlink())
            shutil.rmtree(legacy, ignore_errors=True)
            count, freed = count + 1, freed + size
    return count, freed


def _legacy_uploads(data_root: str | Path) -> list[Path]:
    """Folders directly in uploads/ from before uploads had owners: no owner key, no record."""
    try:
        entries = [Path(e.path) for e in os.scandir(uploads_dir(data_root)) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    return [p for p in entries if not (p.name.startswith("u") and len(p.name) == 25) and not (p / RECORD).exists()]
