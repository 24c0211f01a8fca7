"""Image files opened safely: Pillow reads the header only, its pixel count is checked, then it may decode."""
# One limit for every image this app reads from disk or from a zip (folder datasets, uploads, the
# Predict page's pictures): a 14,000² PNG of 164 KB would otherwise cost seconds and gigabytes at
# every load, or end a job with Pillow's raw DecompressionBombError. Nothing here imports torch.
from __future__ import annotations

import warnings

from nets import settings

PIXELS_ENV = "NNLAB_MAX_IMAGE_PIXELS"
DEFAULT_MAX_PIXELS = settings.SETTINGS[PIXELS_ENV].default  # a 40-megapixel photo; about 120 MB once decoded
# Pillow's names; exotic decoders (EPS hands the file to Ghostscript) never see untrusted bytes.
FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")


class ImageRefused(ValueError):
    """Not an image this app reads, or more pixels than the limit; the message names no file."""


class ImageTooLarge(ImageRefused):
    """An image whose header claims more pixels than the limit."""


def max_pixels() -> int:
    """The pixel limit per image: $NNLAB_MAX_IMAGE_PIXELS, else DEFAULT_MAX_PIXELS."""
    return settings.get(PIXELS_ENV)


def megapixels(n: int) -> str:
    return f"{n / 1e6:,.0f} megapixels" if n >= 10_000_000 else f"{n:,} pixels"


def open_image(source, limit: int | None = None, formats=FORMATS):
    """Pillow's lazy open of a path or file object (header only), refused with ImageRefused when it is
    no image of `formats` or claims more than `limit` (default max_pixels()) pixels. Nothing is
    decoded here; use the result in a `with` block."""
    from PIL import Image
    limit = max_pixels() if limit is None else limit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(source, formats=formats)
        except Image.DecompressionBombError:
            raise ImageTooLarge(f"it claims more than {megapixels(2 * Image.MAX_IMAGE_PIXELS)}; the limit is "
                               f"{megapixels(limit)}") from None
        except Exception:  # noqa: BLE001 - Pillow raises many types on hostile bytes
            raise ImageRefused("it is not an image Pillow can read (PNG, JPEG, WebP, BMP, GIF or TIFF)") from None
    w, h = im.size
    if w <= 0 or h <= 0 or w * h > limit:
        im.close()
        raise ImageTooLarge(f"it has {w:,}×{h:,} pixels ({megapixels(w * h)}); the limit is {megapixels(limit)}")
    return im


def header(source, limit: int | None = None) -> tuple[str, int, int]:
    """(format, width, height) from the header alone, or ImageRefused."""
    with open_image(source, limit) as im:
        return im.format or "?", im.size[0], im.size[1]
