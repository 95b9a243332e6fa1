"""Save and load network weights as ``.safetensors`` with a JSON config in the file's metadata."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from torch import Tensor

from exposurekit.io.write import default_file_mode

META_KEY = "exposurekit"


def save_state(path: str | Path, state: dict[str, Tensor], meta: dict[str, Any] | None = None) -> Path:
    """Write ``state`` (tensors) and ``meta`` (JSON-able) to ``path`` atomically.

    Tensors are made contiguous and moved to the CPU; shared storage is cloned (safetensors refuses it).
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={META_KEY: json.dumps(meta or {})})
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_state(path: str | Path) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Read a file written by :func:`save_state`; returns ``(state_dict, meta)``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a safetensors file.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get(META_KEY, "{}"))
            state = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:
        raise ValueError(f"{path}: not a readable .safetensors weights file ({exc})") from exc
    return state, meta
