"""Media bytes: sniffing and re-encoding uploaded photos, and the content-addressed store.

A photo is trusted only after Pillow has parsed it; it is then re-encoded (JPEG, or PNG for PNG
input) with its EXIF orientation applied and every metadata block (GPS, camera serial) dropped,
so what is stored and served is always an image this server produced.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

MAX_PIXELS = 50_000_000
JPEG_QUALITY = 85
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "HEIF", "MPO", "BMP", "TIFF"})


class NotAnImage(ValueError):
    """The bytes are not an image this server accepts."""


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def clean_image(raw: bytes) -> CleanImage:
    """Parse ``raw`` as an image (whatever its name said) and re-encode it without metadata."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(raw))
            source_format = image.format
            if type(image).verify is not ImageFile.ImageFile.verify:
                # A format whose verify() checks more than opening did (PNG: every chunk's
                # CRC, which decoding skips); the image is opened anew after it.
                image.verify()
                image = Image.open(io.BytesIO(raw))
            with image:
                if image.width * image.height > MAX_PIXELS:
                    raise NotAnImage(f"the image has more than {MAX_PIXELS:,} pixels")
                image.load()
                upright = ImageOps.exif_transpose(image)
        except (
            UnidentifiedImageError,
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
        ):
            raise NotAnImage("the file is not an image (JPEG, PNG, WebP, …)") from None
        except (OSError, SyntaxError, ValueError) as err:
            raise NotAnImage(f"the image is damaged: {err}") from None
    if source_format not in ACCEPTED_FORMATS:
        raise NotAnImage(f"{source_format} files are not accepted; send a JPEG or PNG photo")
    out = io.BytesIO()
    if source_format == "PNG":
        upright.save(out, format="PNG", optimize=False)
        content_type = "image/png"
    else:
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        upright.save(out, format="JPEG", quality=JPEG_QUALITY)
        content_type = "image/jpeg"
    return CleanImage(out.getvalue(), content_type, upright.width, upright.height)


class MediaStore(Protocol):
    """Where media bytes live, addressed by their SHA-256; an S3 store can stand in."""

    def put(self, data: bytes) -> str:
        """Store ``data``; returns its key. Storing the same bytes twice is harmless."""
        ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...


class LocalMediaStore:
    """Files under ``root/ab/abcdef…`` named by their SHA-256; written atomically: to a file
    of this thread's own (``.upload-<key>-<pid>-<thread>``), then renamed into place."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._folders: set[str] = set()  # made already (by this object)

    def _path(self, key: str) -> Path:
        if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            raise KeyError(key)
        return self.root / key[:2] / key

    def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        folder = os.path.join(self.root, key[:2])
        path = os.path.join(folder, key)
        if os.path.exists(path):
            return key
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        tmp = os.path.join(folder, f".upload-{key}-{os.getpid()}-{threading.get_ident()}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
        try:
            try:
                fd = os.open(tmp, flags, 0o600)
            except FileNotFoundError:  # the folder was removed since this store made it
                os.makedirs(folder, exist_ok=True)
                fd = os.open(tmp, flags, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        try:
            return self._path(key).exists()
        except KeyError:
            return False
