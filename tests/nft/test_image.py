"""Avatar normalisation: every accepted format, and the hostile inputs that must be refused."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from bridge.nft.image import ImageError, normalise_avatar, sniff_format


def _encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **kw)
    return out.getvalue()


def _sample(size: tuple[int, int] = (300, 200), mode: str = "RGB") -> Image.Image:
    img = Image.new(mode, size, "red" if mode != "L" else 128)
    # A blue band on the left and a green one on the right: the centre crop keeps neither.
    img.paste("blue" if mode != "L" else 0, (0, 0, 20, size[1]))
    img.paste("green" if mode != "L" else 255, (size[0] - 20, 0, size[0], size[1]))
    return img


def _decode(png: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(png))
    img.load()
    return img


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        ("PNG", _encode(_sample(), "PNG")),
        ("PNG", _encode(_sample(mode="L"), "PNG")),
        ("PNG", _encode(_sample().convert("P"), "PNG", transparency=0)),
        ("JPEG", _encode(_sample(), "JPEG", quality=90)),
        ("JPEG", _encode(_sample().convert("CMYK"), "JPEG")),
        ("GIF", _encode(_sample().convert("P"), "GIF")),
        ("WEBP", _encode(_sample(), "WEBP", lossless=True)),
    ],
)
def test_each_format_becomes_a_256_square_png(fmt: str, data: bytes) -> None:
    avatar = normalise_avatar(data)
    assert avatar.source_format == fmt
    assert avatar.sha256 == hashlib.sha256(avatar.png).hexdigest()
    out = _decode(avatar.png)
    assert out.format == "PNG"
    assert out.size == (256, 256)
    # Centre crop of a 300×200 image keeps x = 50..250: the 20-pixel side bands are cut away.
    rgb = out.convert("RGB")
    centre = rgb.getpixel((128, 128))
    for edge in ((0, 128), (255, 128)):
        pixel = rgb.getpixel(edge)
        assert isinstance(pixel, tuple) and isinstance(centre, tuple)
        assert all(abs(a - b) <= 8 for a, b in zip(pixel, centre, strict=True))


def test_output_is_deterministic_and_sized_on_request() -> None:
    data = _encode(_sample(), "PNG")
    assert normalise_avatar(data) == normalise_avatar(data)
    assert _decode(normalise_avatar(data, size=64).png).size == (64, 64)


def test_metadata_is_stripped() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "tracking-id-1234")
    data = _encode(_sample(), "PNG", pnginfo=info, icc_profile=b"fake-icc", dpi=(300, 300))
    exif = Image.Exif()
    exif[0x010E] = "secret description"
    jpeg = _encode(_sample(), "JPEG", exif=exif)
    for source in (data, jpeg):
        png = normalise_avatar(source).png
        assert b"tracking-id" not in png and b"secret" not in png
        assert _decode(png).info == {}


def test_transparency_is_kept_and_opaque_images_drop_alpha() -> None:
    clear = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    assert _decode(normalise_avatar(_encode(clear, "PNG")).png).mode == "RGBA"
    assert _decode(normalise_avatar(_encode(_sample(), "PNG")).png).mode == "RGB"


def test_animated_gif_keeps_its_first_frame() -> None:
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "blue", "green")]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    png = normalise_avatar(out.getvalue()).png
    assert _decode(png).convert("RGB").getpixel((10, 10)) == (255, 0, 0)


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` but whose data is tiny."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = zlib.compress(b"\0" * 100)

    def wrap(kind: bytes, body: bytes) -> bytes:
        payload = kind + body
        return struct.pack(">I", len(body)) + payload + struct.pack(">I", zlib.crc32(payload))

    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + wrap(b"IDAT", idat)
        + wrap(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_png_claiming(100_000, 100_000), "pixels"),
        (_png_claiming(5000, 4000), "pixels"),
        (_png_claiming(1000, 1000), "damaged or truncated"),
        (_encode(_sample(), "PNG")[:200], "damaged or truncated"),
        (_encode(_sample(), "JPEG")[:300], "damaged or truncated"),
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, "damaged or truncated"),
        (b"GIF89a" + b"\xff" * 10, "damaged or truncated"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 garbage", "damaged or truncated"),
        (b"just some bytes", "unrecognised"),
        (b"", "unrecognised"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "SVG"),
        (b"\xef\xbb\xbf<?xml version='1.0'?><!DOCTYPE svg><svg/>", "SVG"),
        (b"  \n<!-- x --><svg/>", "SVG"),
        (_encode(_sample(), "BMP"), "unrecognised"),
        (_encode(_sample(), "TIFF"), "unrecognised"),
    ],
)
def test_hostile_or_unsupported_inputs_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(ImageError, match=reason):
        normalise_avatar(data)


def test_byte_cap_applies_before_decoding() -> None:
    data = _encode(_sample(), "PNG")
    with pytest.raises(ImageError, match="larger than 100 bytes"):
        normalise_avatar(data, max_bytes=100)


def test_pixel_cap_is_configurable() -> None:
    with pytest.raises(ImageError, match="300×200"):
        normalise_avatar(_encode(_sample(), "PNG"), max_pixels=10_000)


def test_sniffing_ignores_file_names_and_claims() -> None:
    assert sniff_format(_encode(_sample(), "WEBP")) == "WEBP"
    assert sniff_format(_encode(_sample(), "GIF")) == "GIF"
