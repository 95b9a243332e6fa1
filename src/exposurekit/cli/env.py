"""``exposurekit env``: versions of everything that matters, for bug reports."""

from __future__ import annotations

import importlib
import platform

from rich.console import Console

from exposurekit.cli.app import app

_PACKAGES = ("torch", "numpy", "PIL", "cv2", "kornia", "skimage", "safetensors", "typer", "rich",
             "matplotlib", "transformers", "rawpy", "onnxruntime")


@app.command("env")
def env_command() -> None:
    """Print Python, platform and package versions (optional extras shown as missing when absent)."""
    import exposurekit

    con = Console()
    con.print(f"exposurekit {exposurekit.__version__}")
    con.print(f"python {platform.python_version()} on {platform.platform()}")
    for name in _PACKAGES:
        try:
            mod = importlib.import_module(name)
            con.print(f"{name} {getattr(mod, '__version__', '?')}")
        except Exception:
            con.print(f"{name} [dim]not installed[/dim]")
    import torch

    con.print(f"torch threads {torch.get_num_threads()}, cuda available {torch.cuda.is_available()}")
