"""W&B's record log (.wandb) read and written in Python, so an offline run can be moved and synced from another machine."""
from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

from nets.export.result import ExportError, file_stem

HEADER, BLOCK, RECORD_HEADER = b":W&B\xe1\xbe\x00", 32768, 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_payloads(data: bytes, name: str = "the record log") -> list[bytes]:
    """The records of a .wandb file's bytes, unframed (each a serialized protobuf Record)."""
    if not data.startswith(HEADER):
        raise ValueError(f"{name} is not a W&B record log.")
    pos, parts, out = len(HEADER), b"", []
    while pos + RECORD_HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < RECORD_HEADER:  # the rest of a block too short for a header is padding
            pos += left
            continue
        crc, length, kind = struct.unpack("<IHB", data[pos:pos + RECORD_HEADER])
        if kind == 0 and length == 0:
            pos += left
            continue
        chunk = data[pos + RECORD_HEADER:pos + RECORD_HEADER + length]
        if zlib.crc32(chunk, zlib.crc32(bytes([kind]))) != crc:
            raise ValueError(f"{name}: a damaged record at byte {pos}.")
        pos, parts = pos + RECORD_HEADER + length, parts + chunk
        if kind in (FULL, LAST):
            out.append(parts)
            parts = b""
    return out


def frame(payloads: list[bytes]) -> bytes:
    """Records framed as wandb-core frames them (the inverse of read_payloads)."""
    out, pos = bytearray(HEADER), len(HEADER)
    for data in payloads:
        first = True
        while True:
            left = BLOCK - pos % BLOCK
            if left < RECORD_HEADER:
                out += b"\0" * left
                pos += left
                continue
            chunk, data = data[:left - RECORD_HEADER], data[left - RECORD_HEADER:]
            kind = (FULL if not data else FIRST) if first else (LAST if not data else MIDDLE)
            out += struct.pack("<IHB", zlib.crc32(chunk, zlib.crc32(bytes([kind]))), len(chunk), kind) + chunk
            pos += RECORD_HEADER + len(chunk)
            first = False
            if not data:
                break
    return bytes(out)


def read_records(source: Path | bytes) -> list:
    """The protobuf records (wandb.proto.wandb_internal_pb2.Record) of a .wandb file, or of its bytes."""
    from wandb.proto import wandb_internal_pb2 as pb
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    records = []
    for payload in read_payloads(data, "the record log" if isinstance(source, bytes) else str(source)):
        records.append(pb.Record())
        records[-1].ParseFromString(payload)
    return records


def write_records(path: Path, records) -> None:
    Path(path).write_bytes(frame([r.SerializeToString() for r in records]))


def keep_artifacts_with_run(run_dir: Path, root: Path) -> None:
    """wandb logs tables as artifacts whose files it stages outside the run folder, by absolute path
    (so an offline run cannot be synced from another machine). Move them into the run folder and
    record their paths relative to `root`, the folder the student runs `wandb sync` in."""
    log = next(run_dir.glob("run-*.wandb"))
    records = read_records(log)
    for record in records:
        if record.WhichOneof("record_type") != "artifact":
            continue
        for entry in record.artifact.manifest.contents:
            source = Path(entry.local_path)
            if not entry.local_path or not source.is_absolute():
                continue
            if not source.is_file():
                raise ExportError(f"wandb's file for '{entry.path}' is missing.")
            target = run_dir / "artifacts" / file_stem(record.artifact.name) / file_stem(entry.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(source), target)
            entry.local_path = target.relative_to(root).as_posix()
    write_records(log, records)


def worth_keeping(rel: Path) -> bool:
    """What the zip holds of wandb's folder: not its logs, scratch space or the latest-run link."""
    return "latest-run" not in rel.parts and not {"logs", "tmp"} & set(rel.parts[2:3])
