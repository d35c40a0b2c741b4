"""QR images of ticket codes (PNG and SVG), drawn once and kept in `instance/qr-cache/`.

A file is named by the SHA-256 of the code it shows, never by the code: the code is what opens the
door, and a directory listing must not give it away. Files are written aside and renamed into
place, so server processes rendering the same ticket at once never serve a half-written image.
After changing how codes are drawn, delete the folder; it refills on demand.
"""
import hashlib
import io
import os
import tempfile
from contextlib import suppress
from pathlib import Path

import qrcode
import qrcode.constants
from flask import current_app
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathFillImage

CACHE_FOLDER = "qr-cache"
MIMETYPES = {"png": "image/png", "svg": "image/svg+xml"}
QUIET_ZONE = 4  # modules of white around the code, as ISO/IEC 18004 asks
PNG_MODULE_PIXELS = 12  # ~500 px for a ticket code: sharp on a phone, small to send


def qr_image(code: str, kind: str) -> bytes:
    """The image of `code` as `kind` ("png" or "svg"), from the cache or drawn and cached now."""
    path = cache_path(code, kind)
    with suppress(FileNotFoundError):
        return path.read_bytes()
    image = render(code, kind)
    try:
        _write_atomically(path, image)
    except OSError as error:  # a read-only instance folder costs speed, not the ticket
        current_app.logger.warning("QR cache not written (%s): %s", path.parent, error)
    return image


def cache_path(code: str, kind: str) -> Path:
    if kind not in MIMETYPES:
        raise ValueError(f"unknown image kind {kind!r}")
    digest = hashlib.sha256(code.encode()).hexdigest()
    return Path(current_app.instance_path) / CACHE_FOLDER / f"{digest}.{kind}"


def render(code: str, kind: str) -> bytes:
    """Draw the QR code of exactly `code`: error correction M, a quiet zone of 4 modules."""
    factory = PilImage if kind == "png" else SvgPathFillImage
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=QUIET_ZONE,
        box_size=PNG_MODULE_PIXELS if kind == "png" else 10,  # SVG: 10 → 1 mm per module
        image_factory=factory,
    )
    qr.add_data(code)
    qr.make(fit=True)
    buffer = io.BytesIO()
    qr.make_image().save(buffer)
    return buffer.getvalue()


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=".draft-", suffix=path.suffix)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        os.replace(draft, path)  # atomic: readers see the old name absent or the whole file
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(draft)
        raise
