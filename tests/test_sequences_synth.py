"""``exposurekit synth``: folder layout, EV file names, manifest, seeds, and loading the result back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from exposurekit.cli.app import app
from exposurekit.data.brackets import detect_layout, load_brackets
from exposurekit.io import read_image
from exposurekit.isp.synth import SynthSettings, ev_name, synthesize_dataset


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def cli():
    import exposurekit.cli.synth  # noqa: F401  (registers the command)

    return CliRunner()


@pytest.fixture()
def small_photos(shared_data: Path, tmp_path: Path) -> Path:
    """Three real clean photos at 64 px."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("kodim01.png", "kodim05.png", "kodim23.png"):
        with Image.open(shared_data / "clean_kodak24" / name) as im:
            im.convert("RGB").resize((64, 48)).save(src / name)
    return src


def test_ev_names():
    assert [ev_name(e) for e in (-1.5, -1.0, 0.0, -0.0, 1.0, 1.5, 3.0)] == [
        "ev-1.5.png", "ev-1.png", "ev+0.png", "ev+0.png", "ev+1.png", "ev+1.5.png", "ev+3.png"]


def test_synth_cli_srgb_layout_manifest_and_seeds(cli, small_photos, tmp_path):
    out = tmp_path / "seq"
    r = cli.invoke(app, ["synth", str(small_photos), "-o", str(out), "--evs", "msec", "--seed", "7", "-q"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["kodim01", "kodim05", "kodim23", "manifest.json"]
    assert sorted(p.name for p in (out / "kodim05").iterdir()) == sorted(
        ["ev-1.5.png", "ev-1.png", "ev+0.png", "ev+1.png", "ev+1.5.png"])
    m = json.loads((out / "manifest.json").read_text())
    assert m["format"] == "exposurekit-sequences" and m["settings"]["seed"] == 7
    assert m["settings"]["evs"] == [-1.5, -1.0, 0.0, 1.0, 1.5]
    s = m["scenes"][0]
    assert s["frames"]["ev+0.png"] == 0.0 and s["size"] == [48, 64]
    p = s["info"]["params"]
    assert 1.9 <= p["red_gain"] <= 2.4 and len(p["rgb2cam"]) == 3  # the sampled parameters are recorded
    assert s["mean_luminance"] == sorted(s["mean_luminance"])
    # EV 0 reproduces the source (8-bit rounding only)
    a = np.asarray(Image.open(out / "kodim05" / "ev+0.png"), dtype=np.int16)
    b = np.asarray(Image.open(small_photos / "kodim05.png"), dtype=np.int16)
    assert np.abs(a - b).max() <= 1
    # same seed -> identical bytes; other seed -> other parameters
    out2 = tmp_path / "seq2"
    cli.invoke(app, ["synth", str(small_photos), "-o", str(out2), "--seed", "7", "-q"])
    assert (out / "kodim01" / "ev-1.5.png").read_bytes() == (out2 / "kodim01" / "ev-1.5.png").read_bytes()
    m3 = synthesize_dataset(small_photos, tmp_path / "seq3", SynthSettings(seed=8))
    assert m3["scenes"][0]["info"]["params"] != p
    # two worker processes write the same bytes as one
    out4 = tmp_path / "seq4"
    r = cli.invoke(app, ["synth", str(small_photos), "-o", str(out4), "--seed", "7", "-j", "2", "-q"])
    assert r.exit_code == 0, r.output
    for scene in ("kodim01", "kodim23"):
        for n in ("ev-1.5.png", "ev+1.png"):
            assert (out / scene / n).read_bytes() == (out4 / scene / n).read_bytes()
    # loads back as brackets with known EVs, luminance rising with EV in every scene
    assert detect_layout(out) == "sequences"
    bs = load_brackets(out)
    assert [b.scene for b in bs] == ["kodim01", "kodim05", "kodim23"] and bs[0].dataset == "seq"
    for b in bs:
        assert b.evs == [-1.5, -1.0, 0.0, 1.0, 1.5] and b.middle_index == 2
        assert all(y > x for x, y in zip(b.luminance, b.luminance[1:], strict=False)), b.luminance


def test_synth_skips_existing_and_rejects_bad_input(cli, small_photos, tmp_path):
    out = tmp_path / "seq"
    synthesize_dataset(small_photos, out, SynthSettings(evs=(-1, 0, 1)))
    m = synthesize_dataset(small_photos, out, SynthSettings(evs=(-1, 0, 1)))
    assert all(s.get("skipped") == "exists" for s in m["scenes"])
    r = cli.invoke(app, ["synth", str(small_photos), "-o", str(out), "--evs", "1,1", "-q"])
    assert r.exit_code != 0
    r = cli.invoke(app, ["synth", str(tmp_path / "missing"), "-o", str(out), "-q"])
    assert r.exit_code == 2 and "no such file" in r.output
    r = cli.invoke(app, ["synth", str(small_photos), "-o", str(out), "--from", "jpeg", "-q"])
    assert r.exit_code != 0


def test_synth_cli_raw_radiometric(cli, shared_data, tmp_path):
    pytest.importorskip("rawpy")
    out = tmp_path / "raw"
    r = cli.invoke(app, ["synth", str(shared_data / "raw_samples"), "-o", str(out), "--from", "raw",
                         "--evs", "radiometric", "--bayer-pattern", "GRBG", "--black-level", "25",
                         "--white-level", "1023", "--long-side", "128", "--bit-depth", "16", "-q"])
    assert r.exit_code == 0, r.output
    bs = load_brackets(out)
    assert sorted(b.scene for b in bs) == ["RAW_KODAK_DC50", "halide_bayer_small"]
    for b in bs:
        assert b.evs == [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]
        assert all(y > x for x, y in zip(b.luminance, b.luminance[1:], strict=False)), (b.scene, b.luminance)
        assert read_image(b.frames[0]).bit_depth == 16  # 16-bit PNG kept
    m = json.loads((out / "manifest.json").read_text())
    kinds = {s["scene"]: s["info"]["pipeline"] for s in m["scenes"]}
    assert kinds == {"RAW_KODAK_DC50": "rawpy", "halide_bayer_small": "bayer"}
