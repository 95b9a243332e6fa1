"""The shipped RAVE / CLIP-LIT-Latent weights brighten a real backlit photo through `exposurekit correct`."""

from __future__ import annotations

import numpy as np
import pytest

from exposurekit.methods.base import WEIGHTS_DIR


@pytest.mark.parametrize("name", ["rave", "cliplit-latent"])
def test_shipped_weights_brighten_a_real_backlit_photo(name, shared_data, tmp_path):
    from PIL import Image
    from typer.testing import CliRunner

    from exposurekit.cli.main import _load_commands, app

    assert (WEIGHTS_DIR / f"{name}.safetensors").is_file(), f"{name}.safetensors is not shipped"
    src = shared_data / "backlit_web_ovd0312" / "1.jpg"
    _load_commands()
    res = CliRunner().invoke(app, ["correct", str(src), "-o", str(tmp_path), "--method", name, "-q"])
    assert res.exit_code == 0, res.output
    out_files = list(tmp_path.iterdir())
    assert len(out_files) == 1
    a = np.asarray(Image.open(src).convert("L"), dtype=np.float64)
    b = np.asarray(Image.open(out_files[0]).convert("L"), dtype=np.float64)
    assert a.shape == b.shape
    assert b.mean() > a.mean() + 5, (a.mean(), b.mean())
