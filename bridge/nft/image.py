"""Turn untrusted image bytes into a clean, fixed-size square PNG avatar named by its hash.

Pure (Pillow, no I/O). The format is sniffed from the bytes (PNG, JPEG, GIF, WebP; only the
first frame of an animation), sizes are checked from the header before any pixel is decoded, and
the output is rebuilt from raw pixels so no metadata (EXIF, ICC, text chunks) survives.
SVG is refused: no renderer available here is both pure Python and guaranteed to fetch nothing.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

__all__ = [
    "AVATAR_SIZE",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "Avatar",
    "ImageError",
    "normalise_avatar",
    "sniff_format",
]

AVATAR_SIZE = 256
MAX_IMAGE_BYTES = 8 * 1024 * 1024
# 4096 × 4096; decoding stops being cheap well before Pillow's own 89 Mpx bomb limit.
MAX_IMAGE_PIXELS = 4096 * 4096
_SVG_PROBE = 1024


class ImageError(ValueError):
    """The image cannot be used as an avatar; the message says why."""


@dataclass(frozen=True)
class Avatar:
    """A normalised avatar: PNG bytes, their sha256 hex (the file name), the source format."""

    png: bytes
    sha256: str
    source_format: str


def sniff_format(data: bytes) -> str:
    """ "PNG", "JPEG", "GIF" or "WEBP" from the magic bytes; raises ImageError otherwise."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    head = data[:_SVG_PROBE].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype svg", b"<!--")) or b"<svg" in head:
        raise ImageError("SVG images are not supported as avatars; choose a PNG, JPEG, GIF or WebP")
    raise ImageError("unrecognised image format; avatars must be PNG, JPEG, GIF or WebP")


def normalise_avatar(
    data: bytes,
    *,
    size: int = AVATAR_SIZE,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> Avatar:
    """Center-crop ``data`` to a ``size``×``size`` PNG; raises ImageError for anything unsafe."""
    if len(data) > max_bytes:
        raise ImageError(f"the image is larger than {max_bytes} bytes")
    fmt = sniff_format(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as img:
                width, height = img.size
                if width <= 0 or height <= 0:
                    raise ImageError("the image has no pixels")
                if width * height > max_pixels:
                    raise ImageError(
                        f"the image is {width}×{height} pixels; at most {max_pixels} are accepted"
                    )
                if fmt == "JPEG":
                    # Decode a reduced-size JPEG directly when it is much bigger than needed.
                    img.draft("RGB", (size, size))
                img.seek(0)
                img.load()
                frame = ImageOps.exif_transpose(img) if fmt in ("JPEG", "WEBP") else img
                rgba = frame.convert("RGBA")
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("the image decompresses to too many pixels") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, MemoryError) as exc:
        raise ImageError(f"the {fmt} image is damaged or truncated") from exc
    fitted = ImageOps.fit(rgba, (size, size), method=Image.Resampling.LANCZOS)
    # Rebuild from raw pixels: nothing from the source's info dict can reach the output.
    alpha_low, _alpha_high = fitted.getchannel("A").getextrema()
    mode = "RGB" if alpha_low == 255 else "RGBA"
    clean = Image.frombytes("RGBA", (size, size), fitted.tobytes()).convert(mode)
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=False, compress_level=9)
    png = out.getvalue()
    return Avatar(png=png, sha256=hashlib.sha256(png).hexdigest(), source_format=fmt)
