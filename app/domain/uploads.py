"""What an attachment may be: an image (JPEG, PNG) or a PDF, judged by its content, never by its name.

`check_upload(name, data, max_bytes)` answers a `CheckedUpload` ready to store, or raises `UploadRefused`
with a Chinese message naming the file. Images are decoded by Pillow and **re-encoded**: what is stored is
pixels only — no EXIF (GPS position, camera, time), no ICC/XMP text, no trailing bytes after the image (a
script glued behind a JPEG) — turned upright by the EXIF orientation first, so a phone photo still looks
right. A PDF must start with `%PDF-` and end with `%%EOF`; it is stored as sent (its metadata is not
scrubbed: see docs/portal.md). A file whose bytes match no kind — a script named `.jpg` — is refused.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["KINDS", "MAX_PIXELS", "CheckedUpload", "UploadRefused", "check_upload", "clean_filename", "sniff"]

# kind → (content type, stored extension, the bytes a file of the kind starts with)
KINDS: dict[str, tuple[str, str, tuple[bytes, ...]]] = {
    "jpeg": ("image/jpeg", "jpg", (b"\xff\xd8\xff",)),
    "png": ("image/png", "png", (b"\x89PNG\r\n\x1a\n",)),
    "pdf": ("application/pdf", "pdf", (b"%PDF-",)),
}
MAX_PIXELS = 40_000_000  # a 40-megapixel photo decodes to ~120 MB: larger is a decompression bomb, refused
_PIL_FORMAT = {"jpeg": "JPEG", "png": "PNG"}


class UploadRefused(ValueError):
    """The file cannot be attached; the message (Chinese) names it and says why."""


@dataclass(frozen=True)
class CheckedUpload:
    filename: str  # cleaned, for display only
    kind: str  # a key of KINDS
    data: bytes  # what is stored: re-encoded pixels for an image, the PDF as sent
    sha256: str

    @property
    def content_type(self) -> str:
        return KINDS[self.kind][0]

    @property
    def extension(self) -> str:
        return KINDS[self.kind][1]


def sniff(data: bytes) -> str | None:
    """The kind the bytes are, by their magic number, or None."""
    for kind, (_, _, magics) in KINDS.items():
        if any(data.startswith(m) for m in magics):
            return kind
    return None


def clean_filename(name: str) -> str:
    """The sender's file name made safe to show: no path, no control or bidi characters, at most 100 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] != "C").strip()
    return (base or "附件")[:100]


def check_upload(name: str, data: bytes, max_bytes: int) -> CheckedUpload:
    """The file checked and cleaned, or UploadRefused (Chinese, naming the file)."""
    shown = clean_filename(name)
    if not data:
        raise UploadRefused(f"附件「{shown}」是空文件")
    if len(data) > max_bytes:
        raise UploadRefused(f"附件「{shown}」超过 {_size(max_bytes)},请压缩后再上传")
    kind = sniff(data)
    if kind is None:
        raise UploadRefused(f"附件「{shown}」不是图片(JPG、PNG)或 PDF 文件:只接受这几种(按文件内容判断,不看扩展名)")
    stored = _reencoded(shown, data, kind) if kind in _PIL_FORMAT else _pdf(shown, data)
    return CheckedUpload(filename=shown, kind=kind, data=stored, sha256=hashlib.sha256(stored).hexdigest())


def _reencoded(shown: str, data: bytes, kind: str) -> bytes:
    """Decode and encode again: only the pixels survive (no EXIF/GPS, no text chunks, nothing appended)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[_PIL_FORMAT[kind]]) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise UploadRefused(f"附件「{shown}」像素过多({image.width}×{image.height}),请缩小后再上传")
                image.load()
                upright = ImageOps.exif_transpose(image)
    except UploadRefused:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as e:
        raise UploadRefused(f"附件「{shown}」不是完整有效的图片,无法打开") from e
    out = io.BytesIO()
    if kind == "jpeg":
        upright.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
    else:
        mode = upright.mode if upright.mode in ("1", "L", "LA", "P", "RGB", "RGBA") else "RGBA"
        upright.convert(mode).save(out, "PNG", optimize=True)
    return out.getvalue()


def _pdf(shown: str, data: bytes) -> bytes:
    if b"%%EOF" not in data[-1024:]:
        raise UploadRefused(f"附件「{shown}」不是完整的 PDF 文件(缺少文件结尾)")
    return data


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:g} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"
