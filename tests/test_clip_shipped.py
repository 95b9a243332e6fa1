"""The shipped RAVE / CLIP-LIT-Latent weights lift a real backlit photo without blowing it out, through
`exposurekit correct`, and leave an over-exposed photo alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exposurekit.methods.base import WEIGHTS_DIR

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _correct(name: str, src: Path, tmp_path: Path) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image
    from typer.testing import CliRunner

    from exposurekit.cli.main import _load_commands, app

    assert (WEIGHTS_DIR / f"{name}.safetensors").is_file(), f"{name}.safetensors is not shipped"
    _load_commands()
    res = CliRunner().invoke(app, ["correct", str(src), "-o", str(tmp_path), "--method", name, "-q"])
    assert res.exit_code == 0, res.output
    out_files = list(tmp_path.iterdir())
    assert len(out_files) == 1
    a = np.asarray(Image.open(src).convert("L"), dtype=np.float64)
    b = np.asarray(Image.open(out_files[0]).convert("L"), dtype=np.float64)
    assert a.shape == b.shape
    return a, b


@pytest.mark.parametrize("name", ["rave", "cliplit-latent"])
def test_shipped_weights_lift_a_real_backlit_photo_without_blowing_it_out(name, shared_data, tmp_path):
    a, b = _correct(name, shared_data / "backlit_web_ovd0312" / "1.jpg", tmp_path)  # a held-out photo
    dark = a < 80  # the backlit subject (face, shirt)
    assert b[dark].mean() > a[dark].mean() + 10, (a[dark].mean(), b[dark].mean())
    assert b.mean() > a.mean() + 2, (a.mean(), b.mean())
    # session-2 cliplit-latent weights: 6.7 % -> 46 % of the photo at grey >= 254 (the sky went white)
    assert (b >= 254).mean() <= (a >= 254).mean() + 0.02, ((a >= 254).mean(), (b >= 254).mean())


@pytest.mark.parametrize("name", ["rave", "cliplit-latent"])
def test_shipped_weights_leave_an_over_exposed_photo_alone(name, tmp_path):
    a, b = _correct(name, EXAMPLES / "overexposed_chelsea.jpg", tmp_path)
    # session-2 weights: rave 17 % -> 77 % clipped (any channel), cliplit-latent -> 99 %
    assert (b >= 254).mean() <= (a >= 254).mean() + 0.05, ((a >= 254).mean(), (b >= 254).mean())
    assert b.mean() < a.mean() + 0.06 * 255, (a.mean(), b.mean())
