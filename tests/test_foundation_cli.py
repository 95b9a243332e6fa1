"""CLI: exit codes, batch behaviour with bad files, methods/info/env commands."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from exposurekit.cli.app import app
from exposurekit.cli.main import _load_commands

_load_commands()
runner = CliRunner()


@pytest.fixture()
def batch(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((40, 60, 3)) * 80).astype(np.uint8)).save(tmp_path / "dark.jpg")
    Image.fromarray((rng.random((30, 30, 3)) * 80).astype(np.uint8)).save(tmp_path / "dark2.png")
    data = (tmp_path / "dark.jpg").read_bytes()
    (tmp_path / "broken.jpg").write_bytes(data[:200])
    (tmp_path / "notes.jpg").write_text("hello")
    return tmp_path


def test_correct_ok(batch, tmp_path):
    res = runner.invoke(app, ["correct", str(batch / "dark.jpg"), str(batch / "dark2.png"), "-o", str(tmp_path / "o"),
                              "-m", "linear-gain"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["dark.jpg", "dark2.png"]
    assert "2 corrected, 0 failed" in res.output


def test_correct_batch_goes_on_and_exits_1(batch, tmp_path):
    res = runner.invoke(app, ["correct", str(batch), "-o", str(tmp_path / "o"), "-m", "auto-gamma"])
    assert res.exit_code == 1
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["dark.jpg", "dark2.png"]
    assert "broken.jpg" in res.output and "notes.jpg" in res.output and "2 failed" in res.output


def test_correct_never_overwrites_input(batch):
    before = (batch / "dark2.png").read_bytes()
    res = runner.invoke(app, ["correct", str(batch / "dark2.png"), "-o", str(batch), "-m", "linear-gain"])
    assert res.exit_code == 1 and "overwrite" in res.output
    assert (batch / "dark2.png").read_bytes() == before


def test_correct_unwritable_outdir(batch):
    (batch / "afile").write_text("x")
    res = runner.invoke(app, ["correct", str(batch / "dark.jpg"), "-o", str(batch / "afile" / "sub"), "-m", "linear-gain"])
    assert res.exit_code == 1


def test_usage_errors_exit_2(batch, tmp_path):
    assert runner.invoke(app, ["correct", str(batch / "dark.jpg"), "-o", str(tmp_path), "-m", "clahee"]).exit_code == 2
    assert runner.invoke(app, ["correct", str(tmp_path / "empty*"), "-o", str(tmp_path)]).exit_code == 2
    res = runner.invoke(app, ["correct", str(batch / "dark.jpg"), "-o", str(tmp_path / "x"), "-m", "mertens"])
    assert res.exit_code == 2 and "fuse" in res.output
    assert runner.invoke(app, ["correct", str(batch / "dark.jpg"), "-o", str(tmp_path / "x"), "-f", "gif"]).exit_code != 0


def test_format_and_param(batch, tmp_path):
    res = runner.invoke(app, ["correct", str(batch / "dark.jpg"), "-o", str(tmp_path / "o"), "-m", "auto-gamma",
                              "-f", "png", "-p", "target=0.6"])
    assert res.exit_code == 0, res.output
    out = np.asarray(Image.open(tmp_path / "o" / "dark.png").convert("L"), float) / 255
    assert abs(out.mean() - 0.6) < 0.08


def test_methods_info_env(batch):
    res = runner.invoke(app, ["methods"])
    assert res.exit_code == 0 and "clahe" in res.output
    res = runner.invoke(app, ["info", str(batch / "dark.jpg"), str(batch / "broken.jpg")])
    assert res.exit_code == 1 and "mean luminance" in res.output and "clipped" in res.output
    assert runner.invoke(app, ["env"]).exit_code == 0
