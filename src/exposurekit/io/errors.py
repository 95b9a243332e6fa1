"""One-line, user-facing I/O errors."""

from __future__ import annotations


class ImageReadError(Exception):
    """An input could not be read as an image (corrupt, truncated, not an image, unreadable, too big)."""


class ImageWriteError(Exception):
    """An output could not be written (unwritable folder, would overwrite an input, bad format)."""
