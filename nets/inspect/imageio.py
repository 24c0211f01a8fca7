"""Reading an image someone uploaded, safely: checked, decoded, 8-bit L or RGB, or a plain ImageError."""
# Uploaded bytes are untrusted: they may be empty, random, truncated, a vector drawing, an animation or
# a tiny file that claims billions of pixels (a decompression bomb). `read_image` checks the byte
# size, lets Pillow read only the header (format, size, mode) and refuses huge pixel counts before
# anything is decoded, then decodes fully so that truncation shows up here and not later. Every
# failure is an `ImageError` whose message can be shown to a student as is.
#
# What comes back is always an 8-bit "L" or "RGB" image plus notes on what was done to get there
# (first frame of an animation, 16-bit scaled down, transparency filled in, ...).
from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps

from nets.engine.imagefile import max_pixels as pixel_limit

# Pillow's names. Restricting `Image.open` to these also keeps exotic decoders (EPS hands the file
# to Ghostscript) away from untrusted bytes.
FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
SUFFIXES = ("png", "jpg", "jpeg", "webp", "bmp", "gif")
MAX_BYTES = 10 * 1024 * 1024
# Larger images are shrunk right after decoding: every model here takes at most a few hundred
# pixels a side, and the page redraws the original on every rerun.
MAX_SIDE = 1024

_GRAY_MODES = {"1", "L", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}


# Pillow's decoders raise many exception types on hostile bytes (OSError, ValueError, SyntaxError,
# EOFError, struct.error, ...): every `except Exception` below turns them into one plain ImageError.


class ImageError(ValueError):
    """The bytes are not an image this app will read; the message says why in plain words."""


@dataclass
class LoadedImage:
    image: Image.Image                       # mode "L" or "RGB", 8 bits per channel
    format: str                              # "PNG", "JPEG", ...
    original_size: tuple[int, int]           # width, height as stored in the file
    original_mode: str
    notes: list[str] = field(default_factory=list)


def human_bytes(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def check_size(n_bytes: int, max_bytes: int = MAX_BYTES) -> None:
    """Refuse empty and over-limit uploads before looking at their content."""
    if n_bytes == 0:
        raise ImageError("The file is empty (0 bytes).")
    if n_bytes > max_bytes:
        raise ImageError(f"The file is {human_bytes(n_bytes)}; the limit is {human_bytes(max_bytes)}. "
                         "Use a smaller image.")


def _not_an_image(data: bytes) -> ImageError:
    head = data[:1024].lstrip().lower()
    if b"<svg" in head or head.startswith((b"<?xml", b"<!doctype svg")):
        return ImageError("This is an SVG drawing (vector graphics), not a pixel image. "
                          "Export it as PNG and upload that.")
    if head.startswith((b"<", b"{")):
        return ImageError("This is a text file, not an image.")
    return ImageError("This file is not a PNG, JPEG, WebP, BMP or GIF image (or it is damaged).")


def pixel_count(n: int) -> str:
    return f"{n / 1e6:.0f} megapixels" if n >= 10_000_000 else f"{n:,} pixels"


def _too_many_pixels(width: int, height: int, max_pixels: int) -> ImageError:
    return ImageError(f"The image claims {width}×{height} pixels ({pixel_count(width * height)}); "
                      f"the limit is {pixel_count(max_pixels)}. It was not decoded.")


def _open_header(data: bytes, max_pixels: int) -> Image.Image:
    """Pillow's lazy open: reads the header only, so size and mode are known before decoding."""
    try:
        im = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError:
        # Pillow refuses beyond twice its own limit at open; our limit is lower, so say the same.
        raise ImageError(f"The image claims more than {pixel_count(2 * Image.MAX_IMAGE_PIXELS)}; "
                         f"the limit is {pixel_count(max_pixels)}. It was not decoded.") from None
    except Exception:  # noqa: BLE001
        raise _not_an_image(data) from None
    w, h = im.size
    if w <= 0 or h <= 0:
        raise ImageError(f"The image claims a size of {w}×{h} pixels.")
    if w * h > max_pixels:
        raise _too_many_pixels(w, h, max_pixels)
    return im


def _to_8bit_gray(im: Image.Image) -> Image.Image:
    """16-bit and 32-bit grayscale down to 8 bits by scaling, not clipping."""
    if im.mode in ("1", "L"):
        return im.convert("L")
    a = np.asarray(im).astype(np.float64)
    # A 16-bit file uses 0..65535; Pillow's own convert("L") would clip everything above 255.
    top = 65535.0 if im.mode.startswith("I") and a.max(initial=0) > 255 else 255.0
    if im.mode == "F":
        top = max(float(a.max(initial=0)), 1.0)
    return Image.fromarray(np.clip(np.rint(a * (255.0 / top)), 0, 255).astype(np.uint8), "L")


def composite(rgba: Image.Image, background: str = "auto") -> tuple[Image.Image, str]:
    """Fill transparent pixels with a plain colour; returns (RGB image, colour used).

    "auto" picks the colour that contrasts with the visible content: a dark drawing on a transparent
    sheet gets white, a light one black. Filling by the model's convention instead could make the
    strokes vanish (black ink on black)."""
    rgba = rgba.convert("RGBA")
    a = np.asarray(rgba).astype(np.float64)
    alpha = a[..., 3] / 255.0
    if background == "auto":
        weight = alpha.sum()
        luma = (a[..., :3].mean(axis=2) * alpha).sum() / weight if weight > 0 else 255.0
        background = "white" if luma < 128 else "black"
    fill = 255.0 if background == "white" else 0.0
    rgb = a[..., :3] * alpha[..., None] + fill * (1.0 - alpha[..., None])
    return Image.fromarray(np.rint(rgb).astype(np.uint8), "RGB"), background


def _has_transparency(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info


def _normalise_mode(im: Image.Image, background: str, notes: list[str]) -> Image.Image:
    if _has_transparency(im):
        rgba = im.convert("RGBA")
        if np.asarray(rgba)[..., 3].min() < 255:
            out, used = composite(rgba, background)
            notes.append(f"Transparent pixels were filled with {used}.")
            gray = im.mode in ("LA", "La") or (im.mode == "L")
            return out.convert("L") if gray else out
        im = rgba.convert("RGB") if im.mode not in ("LA", "La", "L") else im.convert("L")
    if im.mode in _GRAY_MODES:
        if im.mode.startswith("I") or im.mode == "F":
            notes.append(f"The file stores 16-bit gray levels (mode {im.mode}); they were scaled to "
                         "8 bits (0–255).")
        return _to_8bit_gray(im)
    if im.mode == "CMYK":
        notes.append("The JPEG is stored in CMYK (print colours); it was converted to RGB.")
    return im.convert("RGB")


def read_image(data: bytes, max_bytes: int = MAX_BYTES, *, max_pixels: int | None = None,
               max_side: int | None = MAX_SIDE, background: str = "auto",
               filename: str | None = None) -> LoadedImage:
    """Bytes from an upload → an 8-bit L or RGB image, or ImageError with a plain message.

    background: "auto", "white" or "black", used where the image is transparent. max_pixels: the
    limit of every image this app reads (nets.engine.imagefile.max_pixels()) unless given."""
    max_pixels = pixel_limit() if max_pixels is None else max_pixels
    if background not in ("auto", "white", "black"):
        raise ValueError(f"background must be 'auto', 'white' or 'black', not {background!r}")
    data = bytes(data)
    check_size(len(data), max_bytes)
    im = _open_header(data, max_pixels)
    fmt, size, mode = im.format, im.size, im.mode
    notes: list[str] = []
    suffix = (filename or "").rsplit(".", 1)[-1].lower() if filename and "." in filename else ""
    if suffix and suffix in SUFFIXES and _format_of_suffix(suffix) != fmt:
        notes.append(f"The file is named .{suffix} but is really a {fmt} image; it was read as {fmt}.")
    try:
        frames = getattr(im, "n_frames", 1)   # counting walks the frame headers: may hit a damaged one
    except Exception:  # noqa: BLE001
        frames = 0
    try:
        im.seek(0)
    except Exception:  # noqa: BLE001
        raise ImageError(f"The {fmt} file could not be decoded: it is damaged.") from None
    if frames != 1:
        notes.append(f"Animated {fmt}: the first of its {frames} frames was used." if frames
                     else f"Animated {fmt}: only the first frame was read (later ones are damaged).")
    if fmt == "JPEG" and max_side:
        # Decode a large JPEG at 1/2, 1/4 or 1/8 scale directly: much faster, same result after shrinking.
        im.draft(im.mode, (max_side, max_side))
    try:
        im.load()
    except Exception as e:  # noqa: BLE001
        reason = "it is truncated (the end of the file is missing)" if "truncated" in str(e).lower() \
            else "it is damaged"
        raise ImageError(f"The {fmt} file could not be decoded: {reason}.") from None
    if _orientation(im) not in (None, 1):
        try:
            im = ImageOps.exif_transpose(im)
            notes.append("The camera's orientation tag was applied (the photo was turned upright).")
        except Exception:  # noqa: BLE001
            notes.append("The photo's orientation tag is unreadable and was ignored.")
    try:
        out = _normalise_mode(im, background, notes)
    except Exception:  # noqa: BLE001
        raise ImageError(f"The {fmt} image uses a pixel format ({mode}) that cannot be converted.") from None
    if max_side and max(out.size) > max_side:
        out.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    if max(out.size) < max(size):
        notes.append(f"Shrunk from {size[0]}×{size[1]} to {out.size[0]}×{out.size[1]} pixels for speed "
                     "(the model needs far fewer).")
    return LoadedImage(out, fmt, size, mode, notes)


def _format_of_suffix(suffix: str) -> str:
    return {"jpg": "JPEG", "jpeg": "JPEG"}.get(suffix, suffix.upper())


def _orientation(im: Image.Image):
    try:
        return im.getexif().get(0x0112)
    except Exception:  # noqa: BLE001
        return None
