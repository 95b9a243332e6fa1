"""exposurekit: unsupervised exposure correction with one API.

>>> import exposurekit as ek
>>> "auto-gamma" in ek.list_methods()
True
"""

from __future__ import annotations

from exposurekit.methods.registry import describe_methods, list_methods, load_method

__version__ = "0.1.0"

__all__ = ["__version__", "describe_methods", "list_methods", "load_method"]
