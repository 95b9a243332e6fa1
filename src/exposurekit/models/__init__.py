"""Networks, one per file, as plain ``nn.Module`` classes (training recipes live in ``methods/``)."""

from __future__ import annotations

from exposurekit.models.serialization import load_state, save_state

__all__ = ["load_state", "save_state"]
