"""The project-wide train / held-out split of scenes, deterministic and independent of file order.

A scene is held out when the SHA-1 of ``"<dataset>/<scene>"`` falls in the lowest ``fraction`` of the
hash range. Every learned method trains on the same scenes and is scored on the same held-out ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import TypeVar

HELD_OUT_FRACTION = 0.2

T = TypeVar("T")


def is_held_out(dataset: str, scene: str, fraction: float = HELD_OUT_FRACTION) -> bool:
    """Whether scene ``scene`` of ``dataset`` belongs to the held-out (test) split.

    Example:
        >>> is_held_out("mef", "Venice") in (True, False)
        True
    """
    digest = hashlib.sha1(f"{dataset}/{scene}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def split_scenes(items: Iterable[T], key, fraction: float = HELD_OUT_FRACTION) -> tuple[list[T], list[T]]:
    """Split ``items`` into ``(train, held_out)`` with ``key(item) -> (dataset, scene)``."""
    train: list[T] = []
    held: list[T] = []
    for it in items:
        (held if is_held_out(*key(it), fraction=fraction) else train).append(it)
    return train, held


def describe_split(names: Sequence[tuple[str, str]], fraction: float = HELD_OUT_FRACTION) -> dict[str, list[str]]:
    """``{dataset: [held-out scene, ...]}`` for documentation."""
    out: dict[str, list[str]] = {}
    for ds, sc in names:
        if is_held_out(ds, sc, fraction):
            out.setdefault(ds, []).append(sc)
    return out
