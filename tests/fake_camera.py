"""A camera for Chromium's fake capture device: a few frames of Y4M video showing a QR code.

Chromium started with `--use-fake-device-for-media-stream --use-file-for-fake-video-capture=<file>`
plays the file in a loop as the camera, and reads it again at every getUserMedia, so a test can
show a new ticket by rewriting the file before the page opens (or restarts) the camera.
"""
import os
from pathlib import Path

import qrcode
from PIL import Image

WIDTH, HEIGHT = 640, 480
HEADER = f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode()


def show(path: Path, text: str | None, frames: int = 5) -> None:
    """Make the camera at `path` film `text` as a QR code on white (None: an empty white wall)."""
    picture = Image.new("L", (WIDTH, HEIGHT), 255)
    if text is not None:
        code = qrcode.QRCode(border=4, box_size=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
        code.add_data(text)
        code.make(fit=True)
        modules = code.make_image().get_image().convert("L")
        scale = (HEIGHT - 40) // modules.width
        modules = modules.resize((modules.width * scale, modules.height * scale), Image.NEAREST)
        picture.paste(modules, ((WIDTH - modules.width) // 2, (HEIGHT - modules.height) // 2))
    luma = picture.tobytes()
    chroma = bytes([128]) * ((WIDTH // 2) * (HEIGHT // 2))  # grey: no colour
    frame = b"FRAME\n" + luma + chroma + chroma
    # Written aside and renamed into place: Chromium never reads half a file.
    draft = path.with_name(path.name + ".part")
    draft.write_bytes(HEADER + frame * frames)
    os.replace(draft, path)
