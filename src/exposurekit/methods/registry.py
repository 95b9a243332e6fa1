"""Method registry: ``register_method`` decorator, ``list_methods`` and ``load_method``.

Method modules live in :mod:`exposurekit.methods` and register themselves on import. The registry
imports them only when a listing or a load asks for it.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import pkgutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exposurekit.methods.base import Method

DEFAULT_METHOD = "uec"
"""The method ``exposurekit correct`` uses when none is named (falls back to ``linear-gain``)."""

_FALLBACK_DEFAULT = "linear-gain"


@dataclass(frozen=True)
class MethodInfo:
    """Metadata of one registered method.

    Attributes:
        name: user-facing name (lower case, ``-`` separated).
        cls: the :class:`Method` subclass.
        summary: one line for ``exposurekit methods``.
        kind: ``classical`` | ``learned`` | ``fusion``.
        trainable: whether ``.fit`` is implemented.
        needs_sequence: whether the method takes a multi-exposure stack instead of one image.
        kwargs: default constructor keyword arguments (variants share one class).
    """

    name: str
    cls: type
    summary: str
    kind: str
    trainable: bool
    needs_sequence: bool
    kwargs: dict[str, Any]


_REGISTRY: dict[str, MethodInfo] = {}
_IMPORT_ERRORS: dict[str, str] = {}
_DISCOVERED = False


def register_method(
    name: str,
    *,
    summary: str,
    kind: str = "learned",
    needs_sequence: bool = False,
    **default_kwargs: Any,
):
    """Class decorator that registers a :class:`Method` under ``name``.

    The same class may be registered several times under different names with different
    ``default_kwargs`` (variants, as pyiqa does for ``psnr``/``psnry``).

    Raises:
        ValueError: if ``name`` is already registered.
    """

    def wrap(cls: type) -> type:
        if name in _REGISTRY:
            raise ValueError(f"method {name!r} is registered twice ({_REGISTRY[name].cls} and {cls})")
        trainable = getattr(cls, "trainable", False)
        _REGISTRY[name] = MethodInfo(name, cls, summary, kind, trainable, needs_sequence, dict(default_kwargs))
        return cls

    return wrap


def _discover() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    pkg_dir = Path(__file__).parent
    for mod in sorted(pkgutil.iter_modules([str(pkg_dir)]), key=lambda m: m.name):
        if mod.name in ("base", "registry") or mod.name.startswith("_"):
            continue
        try:
            importlib.import_module(f"exposurekit.methods.{mod.name}")
        except Exception as exc:  # one broken optional method must not break the rest
            _IMPORT_ERRORS[mod.name] = f"{type(exc).__name__}: {exc}"
            warnings.warn(f"exposurekit: method module {mod.name!r} failed to import: {exc}", stacklevel=2)


def list_methods(pattern: str = "*", *, trainable: bool | None = None, kind: str | None = None) -> list[str]:
    """Names of the registered methods, sorted, filtered by an fnmatch ``pattern``.

    Args:
        pattern: shell-style filter, e.g. ``"clip*"``.
        trainable: keep only methods whose ``.fit`` exists (True) or does not (False).
        kind: keep only ``classical``, ``learned`` or ``fusion`` methods.

    Example:
        >>> "clahe" in list_methods()
        True
    """
    _discover()
    out = []
    for name, info in _REGISTRY.items():
        if not fnmatch.fnmatch(name, pattern):
            continue
        if trainable is not None and info.trainable != trainable:
            continue
        if kind is not None and info.kind != kind:
            continue
        out.append(name)
    return sorted(out)


def describe_methods() -> list[MethodInfo]:
    """Metadata of every registered method, sorted by name."""
    _discover()
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]


def method_info(name: str) -> MethodInfo:
    """Metadata of one method; raises ``KeyError`` with a "did you mean" hint for unknown names."""
    _discover()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        broken = ""
        mod = name.replace("-", "_")
        if mod in _IMPORT_ERRORS:
            broken = f" (module {mod!r} failed to import: {_IMPORT_ERRORS[mod]})"
        raise KeyError(f"unknown method {name!r}{broken}.{hint} Known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def default_method_name() -> str:
    """The default method: UEC when registered, else the linear-gain baseline."""
    _discover()
    return DEFAULT_METHOD if DEFAULT_METHOD in _REGISTRY else _FALLBACK_DEFAULT


def load_method(name: str | None = None, weights: str | Path | None = None, device: str = "cpu", **kwargs: Any) -> Method:
    """Build a method by name, with its shipped weights unless ``weights`` names others.

    Args:
        name: registered name (see :func:`list_methods`); ``None`` gives the default method.
        weights: path of a ``.safetensors`` file saved by this toolkit (learned methods only).
        device: torch device string.
        **kwargs: override the method's constructor arguments; ``None`` values are dropped.

    Returns:
        A :class:`~exposurekit.methods.base.Method` with ``.correct(images)``.

    Raises:
        KeyError: unknown name (with a "did you mean" hint).
    """
    info = method_info(name or default_method_name())
    merged = {**info.kwargs, **{k: v for k, v in kwargs.items() if v is not None}}
    method = info.cls(**merged)
    method.name = info.name
    if weights is not None or getattr(method, "trainable", False):
        method.load_weights(weights)
    return method.to(device)
