"""Downloading a file over HTTP in chunks, with progress, and a plain reason when it fails.

torchvision's own downloader reports no progress a page can draw, so the bytes are fetched here into
the file torchvision expects; its checksum, extraction and loading code does the rest.
"""
from __future__ import annotations

import errno
import socket
import ssl
import urllib.error
import urllib.request
from pathlib import Path

CHUNK = 1 << 16
TIMEOUT = 30  # seconds without a byte before giving up
USER_AGENT = "pytorch/vision"  # what torchvision sends; some mirrors refuse Python's default


class ChecksumError(OSError):
    """The downloaded file is not the published one."""


class DownloadFailed(Exception):
    """Every address of a file failed; `failures` lists (url, error) in the order tried."""

    def __init__(self, failures: list[tuple[str, BaseException]]):
        super().__init__(failures[-1][1])
        self.failures = failures


def fetch(url: str, dest: Path, on_bytes=None, timeout: float = TIMEOUT) -> int:
    """Download `url` to `dest` (via dest.part, renamed when complete); `on_bytes(done, total)`
    after every chunk, total None when the server does not say. Returns the number of bytes."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, open(part, "wb") as f:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            while chunk := response.read(CHUNK):
                f.write(chunk)
                done += len(chunk)
                if on_bytes:
                    on_bytes(done, total)
        if total is not None and done != total:
            raise urllib.error.ContentTooShortError(f"got {done:,} of {total:,} bytes", None)
        part.replace(dest)
        return done
    finally:
        part.unlink(missing_ok=True)


def fetch_all(items, weights, label: str, on_progress=None) -> None:
    """Fetch every (urls, path, md5) of `items` whose file is not there with that md5 yet, trying
    each url in turn; `on_progress(text, fraction)` with the files weighted by `weights`. Raises
    DownloadFailed for the first file that no url delivered."""
    from torchvision.datasets.utils import check_integrity  # torchvision's md5 check
    total, before, shown = sum(weights), 0, [-1]
    for i, (urls, path, md5) in enumerate(items):
        failures = []
        for url in urls if not check_integrity(str(path), md5) else ():

            def on_bytes(done, size, before=before, weight=weights[i]):
                fraction = min(1.0, (before + weight * (done / size if size else 0.0)) / total)
                if on_progress and (int(fraction * 1000) != shown[0] or done == size):  # ≤ 1000 reports
                    shown[0] = int(fraction * 1000)
                    text = (f"Downloading {label}: {done / 1e6:.1f}"
                            + (f" of {size / 1e6:.1f} MB" if size else " MB")
                            + (f" (file {i + 1} of {len(items)})" if len(items) > 1 else ""))
                    on_progress(text, fraction)

            try:
                fetch(url, path, on_bytes)
                if not check_integrity(str(path), md5):
                    Path(path).unlink(missing_ok=True)
                    raise ChecksumError(f"{Path(path).name} from {url} has the wrong md5 (expected {md5})")
                break
            except OSError as e:  # URLError, HTTPError, timeouts and a bad checksum are all OSErrors
                failures.append((url, e))
        else:
            if failures:
                raise DownloadFailed(failures)
        before += weights[i]


def reason(error: BaseException) -> str:
    """Why a download failed, in words for someone who did not write the code."""
    if isinstance(error, ChecksumError):
        return "the downloaded file did not match its published checksum"
    if isinstance(error, urllib.error.HTTPError):
        return f"the server answered {error.code} {error.reason}".rstrip()
    if isinstance(error, urllib.error.ContentTooShortError):
        return "the connection broke off before the file was complete"
    cause = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(cause, socket.gaierror) or getattr(cause, "errno", None) in (errno.ENETUNREACH,
                                                                               errno.EHOSTUNREACH):
        return "this machine seems to be offline"
    if isinstance(cause, (ConnectionRefusedError, TimeoutError, socket.timeout)):
        return "the download server did not answer"
    if isinstance(cause, ssl.SSLError):
        return "the secure connection to the server failed"
    if isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
        return "the disk is full"
    last = (str(error).strip().splitlines() or [type(error).__name__])[-1]
    return f"{type(error).__name__}: {last[:160]}"
