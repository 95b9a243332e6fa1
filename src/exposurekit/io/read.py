"""Reading images: Pillow for metadata and 8-bit data, OpenCV for 16-bit PNG/TIFF pixels."""

from __future__ import annotations

import glob
import io as _io
import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from exposurekit.io.errors import ImageReadError
from exposurekit.io.image import ImageData

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp")
MAX_PIXELS = 400_000_000
"""Images larger than this (400 MP) are refused rather than risking memory exhaustion."""

_ORIENTATION = 0x0112


def _apply_orientation(a: np.ndarray, orientation: int) -> np.ndarray:
    """Make an ``(H, W, ...)`` array upright from EXIF orientation 1-8."""
    ops = {
        2: lambda x: x[:, ::-1],
        3: lambda x: x[::-1, ::-1],
        4: lambda x: x[::-1],
        5: lambda x: np.swapaxes(x, 0, 1),
        6: lambda x: np.rot90(x, -1),
        7: lambda x: np.swapaxes(x, 0, 1)[::-1, ::-1],
        8: lambda x: np.rot90(x, 1),
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(a)) if op else a


def _exif_bytes_upright(im: Image.Image) -> bytes | None:
    exif = im.getexif()
    if not exif:
        return None
    if _ORIENTATION in exif:
        exif[_ORIENTATION] = 1
    try:
        return exif.tobytes()
    except Exception:
        return None


def _png_bit_depth(path: Path) -> int:
    with open(path, "rb") as f:
        head = f.read(33)
    return head[24] if len(head) >= 25 and head[:8] == b"\x89PNG\r\n\x1a\n" else 8


def _is_16bit(im: Image.Image, path: Path) -> bool:
    if im.format == "PNG":
        return _png_bit_depth(path) == 16
    if im.format == "TIFF":
        bits = im.tag_v2.get(258, (8,))
        bits = bits if isinstance(bits, tuple) else (bits,)
        return max(bits) == 16
    return False


def _read_16bit(path: Path, fmt: str) -> np.ndarray:
    """Raw (not re-oriented) 16-bit pixels: tifffile for TIFF (OpenCV 5 rotates TIFFs by itself), else OpenCV."""
    if fmt == "TIFF":
        import tifffile

        try:
            a = tifffile.imread(str(path), key=0)
        except Exception as exc:
            raise ImageReadError(f"{path}: could not decode 16-bit TIFF ({exc})") from None
        if a.ndim == 3 and a.shape[0] in (3, 4) and a.shape[2] not in (3, 4):
            a = np.moveaxis(a, 0, -1)  # planar configuration
        return np.ascontiguousarray(a.astype(np.uint16, copy=False))
    import cv2

    data = np.fromfile(str(path), dtype=np.uint8)
    a = cv2.imdecode(data, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if a is None:
        raise ImageReadError(f"{path}: could not decode 16-bit pixels (corrupt or truncated?)")
    if a.ndim == 3 and a.shape[2] == 3:
        a = a[:, :, ::-1]
    elif a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, [2, 1, 0, 3]]
    return np.ascontiguousarray(a)


def read_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> ImageData:
    """Read an image file into an upright :class:`ImageData`.

    Handles JPEG, PNG, TIFF, WebP and BMP; 8- and 16-bit; grayscale, palette and CMYK are converted to
    RGB (with a note); alpha is split off and kept; EXIF orientation is applied; ICC and EXIF are kept.

    Raises:
        ImageReadError: with a one-line reason (missing, unreadable, not an image, corrupt,
            truncated, larger than ``max_pixels``).
    """
    path = Path(path)
    if not path.exists():
        raise ImageReadError(f"{path}: no such file")
    if path.is_dir():
        raise ImageReadError(f"{path}: is a folder, not an image")
    if not os.access(path, os.R_OK):
        raise ImageReadError(f"{path}: permission denied")
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not an image, or a format Pillow cannot identify") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageReadError(f"{path}: image too large (limit {max_pixels / 1e6:.0f} MP)") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot open ({exc})") from None
    with im:
        w, h = im.size
        if w * h > max_pixels:
            raise ImageReadError(f"{path}: {w}x{h} is {w * h / 1e6:.0f} MP, over the {max_pixels / 1e6:.0f} MP limit")
        fmt = im.format or path.suffix.lstrip(".").upper()
        icc = im.info.get("icc_profile")
        exif_obj = im.getexif()
        orientation = int(exif_obj.get(_ORIENTATION, 1) or 1)
        exif = _exif_bytes_upright(im)
        if orientation != 1:
            notes.append(f"EXIF orientation {orientation} applied")
        try:
            if _is_16bit(im, path):
                a = _apply_orientation(_read_16bit(path, im.format), orientation)
                rgb, alpha = _split_channels(a, notes)
            else:
                im.load()
                rgb, alpha, icc = _from_pil(im, icc, notes)
                rgb = _apply_orientation(rgb, orientation)
                alpha = _apply_orientation(alpha, orientation) if alpha is not None else None
        except ImageReadError:
            raise
        except (OSError, SyntaxError, ValueError) as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ImageReadError(f"{path}: corrupt or truncated image ({msg})") from None
    if icc is not None and not _is_rgb_profile(icc):
        icc = None
        notes.append("non-RGB ICC profile dropped")
    return ImageData(rgb=rgb, alpha=alpha, icc_profile=icc, exif=exif, format=fmt, notes=notes, path=path)


def _split_channels(a: np.ndarray, notes: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
    if a.ndim == 2:
        notes.append("grayscale converted to RGB")
        return np.repeat(a[:, :, None], 3, axis=2), None
    if a.shape[2] == 2:
        notes.append("grayscale converted to RGB")
        return np.repeat(a[:, :, :1], 3, axis=2), np.ascontiguousarray(a[:, :, 1])
    if a.shape[2] == 4:
        return np.ascontiguousarray(a[:, :, :3]), np.ascontiguousarray(a[:, :, 3])
    return np.ascontiguousarray(a[:, :, :3]), None


def _from_pil(im: Image.Image, icc: bytes | None, notes: list[str]) -> tuple[np.ndarray, np.ndarray | None, bytes | None]:
    mode = im.mode
    if mode == "CMYK":
        converted = None
        if icc:
            try:
                src = ImageCms.ImageCmsProfile(_io.BytesIO(icc))
                converted = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
            except Exception:
                converted = None
        notes.append("CMYK converted to sRGB" + (" with its ICC profile" if converted else " (naive, no profile)"))
        im = converted or im.convert("RGB")
        icc = None
        return np.asarray(im), None, icc
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im)
        a = a.astype(np.uint16) if mode != "I" else np.clip(a, 0, 65535).astype(np.uint16)
        notes.append("grayscale converted to RGB")
        return np.repeat(a[:, :, None], 3, axis=2), None, icc
    if mode == "F":
        a = np.clip(np.asarray(im, dtype=np.float32), 0, 1)
        notes.append("grayscale converted to RGB")
        return np.repeat(a[:, :, None], 3, axis=2), None, icc
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        mode = im.mode
    if mode in ("1", "L", "LA", "La"):
        notes.append("grayscale converted to RGB")
        rgb = np.asarray(im.convert("L"))
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
        alpha = np.asarray(im.getchannel("A")).copy() if mode in ("LA", "La") else None
        return rgb, alpha, icc
    if mode in ("RGBA", "RGBa"):
        a = np.asarray(im.convert("RGBA"))
        return np.ascontiguousarray(a[:, :, :3]), np.ascontiguousarray(a[:, :, 3]), icc
    if mode != "RGB":
        notes.append(f"{mode} converted to RGB")
        im = im.convert("RGB")
    return np.asarray(im).copy(), None, icc


def _is_rgb_profile(icc: bytes) -> bool:
    return len(icc) >= 20 and icc[16:20] == b"RGB "


def expand_inputs(inputs: Iterable[str | Path], recursive: bool = False) -> list[Path]:
    """Expand files, folders (images inside, sorted) and glob patterns into a list of paths.

    Paths that do not exist are kept, so the caller can report them one by one.
    """
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            it = p.rglob("*") if recursive else p.iterdir()
            out.extend(sorted(f for f in it if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES))
        elif any(ch in str(item) for ch in "*?[") and not p.exists():
            out.extend(sorted(Path(m) for m in glob.glob(str(item), recursive=True) if Path(m).is_file()))
        else:
            out.append(p)
    seen: set[Path] = set()
    unique = []
    for p in out:
        if p not in seen:
            seen.add(p)
            unique.append(p)
    return unique


def open_as_orientation_corrected_pil(path: str | Path) -> Image.Image:
    """Pillow image, upright (for previews and reports only)."""
    return ImageOps.exif_transpose(Image.open(path))
