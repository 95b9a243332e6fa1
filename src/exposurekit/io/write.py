"""Writing images atomically, keeping bit depth, alpha, ICC profile and EXIF where the format allows."""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from exposurekit.io.errors import ImageWriteError
from exposurekit.io.image import ImageData

_PIL_FORMAT = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF",
               ".webp": "WEBP", ".bmp": "BMP"}
_16BIT_OK = {"PNG", "TIFF"}


def default_file_mode() -> int:
    """``0o666`` less the process umask: the mode ``open()`` would give a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def output_path_for(src: Path, outdir: Path, suffix: str | None = None) -> Path:
    """``outdir / src.name``, with the suffix replaced by ``suffix`` (e.g. ``.png``) if given."""
    name = src.name if suffix is None else src.with_suffix(suffix).name
    return Path(outdir) / name


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_add_chunks(png: bytes, icc: bytes | None, exif: bytes | None) -> bytes:
    """Insert iCCP (after IHDR) and eXIf chunks into an encoded PNG."""
    ihdr_end = 8 + 8 + 13 + 4
    extra = b""
    if icc:
        extra += _png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(icc))
    if exif:
        raw = exif[6:] if exif.startswith(b"Exif\x00\x00") else exif
        extra += _png_chunk(b"eXIf", raw)
    return png[:ihdr_end] + extra + png[ihdr_end:]


def _encode(img: ImageData, fmt: str, quality: int) -> bytes:
    import io

    rgb, alpha = img.rgb, img.alpha
    if rgb.dtype == np.float32 and fmt == "TIFF":
        import tifffile

        buf = io.BytesIO()
        data = rgb if alpha is None else np.dstack([rgb, alpha.astype(np.float32)])
        tifffile.imwrite(buf, data, photometric="rgb", iccprofile=img.icc_profile,
                         extrasamples=[2] if alpha is not None else None)
        return buf.getvalue()
    if rgb.dtype == np.float32:
        rgb = (np.clip(rgb, 0, 1) * 65535 + 0.5).astype(np.uint16) if fmt in _16BIT_OK else (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
        alpha = None if alpha is None else (np.clip(alpha, 0, 1) * (65535 if rgb.dtype == np.uint16 else 255) + 0.5).astype(rgb.dtype)
    if rgb.dtype == np.uint16 and fmt not in _16BIT_OK:
        rgb = (rgb.astype(np.uint32) * 255 + 32767) // 65535
        rgb = rgb.astype(np.uint8)
        alpha = None if alpha is None else ((alpha.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if rgb.dtype == np.uint16:
        data = rgb if alpha is None else np.dstack([rgb, alpha])
        if fmt == "TIFF":
            import tifffile

            buf = io.BytesIO()
            tifffile.imwrite(buf, data, photometric="rgb", iccprofile=img.icc_profile, compression="zlib",
                             extrasamples=[2] if alpha is not None else None)
            return buf.getvalue()
        import cv2

        bgr = data[:, :, [2, 1, 0]] if alpha is None else data[:, :, [2, 1, 0, 3]]
        ok, enc = cv2.imencode(".png", np.ascontiguousarray(bgr))
        if not ok:
            raise ImageWriteError("OpenCV could not encode the 16-bit PNG")
        return _png_add_chunks(enc.tobytes(), img.icc_profile, img.exif)
    mode_img = Image.fromarray(rgb, "RGB")
    if alpha is not None:
        if fmt in ("JPEG", "BMP"):
            pass  # these formats have no alpha; the caller chose the format
        else:
            mode_img = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    kwargs: dict = {}
    if img.icc_profile:
        kwargs["icc_profile"] = img.icc_profile
    if img.exif and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        kwargs["exif"] = img.exif
    if fmt == "JPEG":
        kwargs.update(quality=quality, subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        kwargs.update(quality=quality, lossless=quality >= 100)
    elif fmt == "TIFF":
        kwargs.update(compression="tiff_deflate")
    buf = io.BytesIO()
    mode_img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def write_image(path: str | Path, img: ImageData, *, quality: int = 95, overwrite: bool = True,
                protect: tuple[Path, ...] = ()) -> Path:
    """Encode ``img`` by the suffix of ``path`` and write it atomically (temp file + rename).

    16-bit data stays 16-bit in PNG and TIFF (JPEG/WebP get 8-bit). Alpha is written where the format
    has it; ICC and EXIF are embedded where the format allows.

    Args:
        path: destination; its suffix chooses the format.
        img: pixels and metadata to write.
        quality: JPEG/WebP quality.
        overwrite: allow replacing an existing file (never one in ``protect``).
        protect: paths that must never be written (the inputs).

    Raises:
        ImageWriteError: one-line reason (would overwrite an input, folder not writable, unknown format).
    """
    path = Path(path)
    fmt = _PIL_FORMAT.get(path.suffix.lower())
    if fmt is None:
        raise ImageWriteError(f"{path}: unknown output format {path.suffix!r} (use one of {sorted(_PIL_FORMAT)})")
    for p in protect:
        try:
            if p.exists() and path.exists() and os.path.samefile(p, path):
                raise ImageWriteError(f"{path}: refusing to overwrite an input (pass --overwrite to allow)")
        except OSError:
            pass
    if path.exists() and not overwrite:
        raise ImageWriteError(f"{path}: exists (pass --overwrite to replace it)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageWriteError(f"{path.parent}: cannot create output folder ({exc.strerror or exc})") from None
    data = _encode(img, fmt, quality)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise ImageWriteError(f"{path.parent}: not writable ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, default_file_mode())  # mkstemp makes 0600 files; outputs get the usual mode
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ImageWriteError(f"{path}: write failed ({exc.strerror or exc})") from None
    return path
