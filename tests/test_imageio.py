"""Reading untrusted image bytes: every kind of bad file gets a plain ImageError, every odd-but-valid
file comes back as an 8-bit L or RGB image with a note on what was done."""
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from nets.inspect.imageio import MAX_BYTES, ImageError, check_size, composite, read_image


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A 60-byte PNG whose header claims width×height 1-bit pixels: a decompression bomb's shape."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def noise_rgb():
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))


@pytest.fixture
def decoding(monkeypatch):
    """Counts what decoding takes: Pillow's ImageFile.load() calls (where pixels are read) and the
    decoders it makes for them. Header reading makes neither."""
    counts = {"load": 0, "decoders": 0}
    real_load, real_decoder = ImageFile.ImageFile.load, Image._getdecoder

    def load(self, *args, **kwargs):
        counts["load"] += 1
        return real_load(self, *args, **kwargs)

    def decoder(*args, **kwargs):
        counts["decoders"] += 1
        return real_decoder(*args, **kwargs)
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    monkeypatch.setattr(Image, "_getdecoder", decoder)
    return counts


def refused(data: bytes, **kw) -> str:
    with pytest.raises(ImageError) as e:
        read_image(data, **kw)
    return str(e.value)


# ------------------------------------------------------------------------------ bad files
def test_empty_file():
    assert "empty" in refused(b"")


def test_random_bytes_named_png():
    data = np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    assert "not a PNG, JPEG, WebP, BMP or GIF" in refused(data, filename="photo.png")


def test_svg_is_named_as_such():
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    assert "SVG" in refused(svg)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_files(noise_rgb, fmt):
    data = encode(noise_rgb, fmt)
    message = refused(data[:len(data) // 2])
    assert "truncated" in message and fmt in message


def test_over_the_byte_limit_refused_before_reading():
    assert "limit is 1.0 KB" in refused(b"\x89PNG" + b"\0" * 2000, max_bytes=1024)
    with pytest.raises(ImageError, match="limit"):
        check_size(MAX_BYTES + 1)
    check_size(MAX_BYTES)


def test_decompression_bomb_refused_without_decoding(decoding):
    data = png_claiming(30000, 30000)
    assert len(data) < 100
    assert "megapixels" in refused(data)
    assert decoding == {"load": 0, "decoders": 0}  # refused from the header: not one pixel decoded


def test_our_pixel_limit_is_checked_before_decoding(decoding):
    # 49 megapixels: below Pillow's own bomb limit, above ours; names the claimed size.
    assert "7000×7000" in refused(png_claiming(7000, 7000))
    small = encode(Image.new("L", (100, 100)), "PNG")
    assert "100×100 pixels (10,000 pixels); the limit is 5,000 pixels" in refused(small, max_pixels=5000)
    assert decoding == {"load": 0, "decoders": 0}
    read_image(small, max_pixels=10_000)
    assert decoding["load"] >= 1 and decoding["decoders"] >= 1  # the counts see a decode when there is one


# ------------------------------------------------------------------------------ odd but valid files
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "GIF"])
def test_accepted_formats(noise_rgb, fmt):
    loaded = read_image(encode(noise_rgb, fmt))
    assert loaded.format == fmt and loaded.image.mode == "RGB" and loaded.image.size == (64, 64)


def test_cmyk_jpeg_becomes_rgb():
    loaded = read_image(encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG", quality=95))
    assert loaded.original_mode == "CMYK" and loaded.image.mode == "RGB"
    r, g, b = np.asarray(loaded.image)[8, 8]
    assert r > 200 and g < 60 and b < 60          # pure red ink stays red
    assert any("CMYK" in n for n in loaded.notes)


def test_16_bit_png_is_scaled_not_clipped():
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (8, 1))
    loaded = read_image(encode(Image.fromarray(ramp), "PNG"))
    a = np.asarray(loaded.image)
    assert loaded.image.mode == "L" and loaded.original_mode.startswith("I")
    assert a[0, 0] == 0 and a[0, -1] == 255 and 120 <= a[0, 32] <= 135
    assert any("16-bit" in n for n in loaded.notes)


def ink_on_transparent(ink) -> np.ndarray:
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., :3] = ink
    rgba[5:15, 8:12, 3] = 255
    return rgba


def test_dark_ink_on_transparent_gets_white_paper():
    loaded = read_image(encode(Image.fromarray(ink_on_transparent(0), "RGBA"), "PNG"))
    a = np.asarray(loaded.image.convert("L"))
    assert a[0, 0] == 255 and a[10, 10] == 0
    assert any("white" in n for n in loaded.notes)


def test_light_ink_on_transparent_gets_black_paper_unless_told():
    data = encode(Image.fromarray(ink_on_transparent(255), "RGBA"), "PNG")
    a = np.asarray(read_image(data).image.convert("L"))
    assert a[0, 0] == 0 and a[10, 10] == 255
    assert np.asarray(read_image(data, background="white").image.convert("L"))[0, 0] == 255


def test_gray_with_alpha_stays_gray():
    la = Image.fromarray(ink_on_transparent(0)[..., [0, 3]], "LA")
    assert read_image(encode(la, "PNG")).image.mode == "L"


def test_palette_with_transparency():
    p = Image.new("P", (10, 10), 1)
    p.putpalette([0, 0, 0, 250, 250, 250] + [0] * 762)
    p.paste(0, (0, 0, 5, 10))                     # left half is the transparent index
    loaded = read_image(encode(p, "PNG", transparency=0))
    a = np.asarray(loaded.image.convert("L"))
    assert a[5, 1] == 0 and a[5, 8] == 250        # light content: black fills the hole


def test_animated_gif_uses_first_frame():
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    loaded = read_image(data)
    assert tuple(np.asarray(loaded.image)[4, 4]) == (255, 0, 0)
    assert any("first of its 3 frames" in n for n in loaded.notes)


def test_wrong_extension_is_read_by_content(noise_rgb):
    loaded = read_image(encode(noise_rgb, "JPEG"), filename="holiday.png")
    assert loaded.format == "JPEG" and any("really a JPEG" in n for n in loaded.notes)


def test_damaged_animation_reads_the_first_frame_or_says_why():
    frames = [Image.new("RGB", (64, 64), (20 * i, 0, 0)) for i in range(10)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    for cut in (300, len(data) // 2, len(data) - 5):
        try:
            loaded = read_image(data[:cut])
        except ImageError:
            continue
        assert tuple(np.asarray(loaded.image)[0, 0]) == (0, 0, 0) and "Animated GIF" in loaded.notes[0]


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_large_images_are_shrunk(fmt):
    loaded = read_image(encode(Image.new("L", (1600, 800), 9), fmt), max_side=200)
    assert loaded.image.size == (200, 100) and loaded.original_size == (1600, 800)
    assert "Shrunk from 1600×800 to 200×100" in loaded.notes[-1]


def test_exif_orientation_applied():
    exif = Image.Exif()
    exif[0x0112] = 6                               # "rotate 90° clockwise to view"
    loaded = read_image(encode(Image.new("RGB", (40, 20), (200, 0, 0)), "JPEG", exif=exif.tobytes()))
    assert loaded.image.size == (20, 40) and len(loaded.notes) == 1


def test_composite_is_alpha_blend():
    rgba = np.zeros((1, 1, 4), np.uint8)
    rgba[0, 0] = (100, 100, 100, 128)
    out, used = composite(Image.fromarray(rgba, "RGBA"), "white")
    assert used == "white" and abs(int(np.asarray(out)[0, 0, 0]) - round(100 * 128 / 255 + 255 * 127 / 255)) <= 1
