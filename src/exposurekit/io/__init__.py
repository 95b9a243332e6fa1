"""Image I/O a photographer can trust: 8/16-bit, EXIF orientation, alpha, ICC and EXIF kept, atomic writes."""

from __future__ import annotations

from exposurekit.io.errors import ImageReadError, ImageWriteError
from exposurekit.io.image import ImageData
from exposurekit.io.read import IMAGE_SUFFIXES, MAX_PIXELS, expand_inputs, read_image
from exposurekit.io.write import output_path_for, write_image

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "ImageData",
    "ImageReadError",
    "ImageWriteError",
    "expand_inputs",
    "output_path_for",
    "read_image",
    "write_image",
]
