"""Methods: a network (or none) + its training recipe + its inference, behind one registry.

Every module in this package that defines a :class:`~exposurekit.methods.base.Method` subclass
decorated with :func:`~exposurekit.methods.registry.register_method` is found by
:func:`list_methods`; modules are imported lazily, so one broken optional method cannot break
``import exposurekit``.
"""

from __future__ import annotations

from exposurekit.methods.base import Method, SequenceMethod
from exposurekit.methods.registry import describe_methods, list_methods, load_method, register_method

__all__ = ["Method", "SequenceMethod", "describe_methods", "list_methods", "load_method", "register_method"]
