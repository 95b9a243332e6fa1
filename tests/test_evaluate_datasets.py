"""Dataset specs (MSEC, SICE, LOL, BAID, generic pairs, folders), the runner, the CLI and compare."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from exposurekit.data.benchmarks import PairedImages, detect_kind, load_pairs, load_spec, parse_spec
from exposurekit.evaluate import evaluate_samples, evaluate_spec, parse_size


def _img(path: Path, value: float | None = None, size=(24, 32), seed=0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (*size, 3)) if value is None else np.full((*size, 3), int(value * 255))
    Image.fromarray(a.astype(np.uint8)).save(path)
    return path


@pytest.fixture
def msec(tmp_path):
    root = tmp_path / "msec"
    for stem in ("a0001", "a0002"):
        _img(root / "GT_IMAGES" / f"{stem}.jpg", seed=1)
        for ev in ("N1.5", "N1", "0", "P1", "P1.5"):
            _img(root / "INPUT_IMAGES" / f"{stem}_{ev}.JPG", seed=2)
    _img(root / "INPUT_IMAGES" / "stray.jpg")
    return root


def test_msec_spec_groups_by_ev(msec):
    assert detect_kind(msec) == "msec"
    samples = load_pairs(f"msec:{msec}")
    assert len(samples) == 10
    assert {s.group for s in samples} == {"N1.5", "N1", "0", "P1", "P1.5"}
    assert all(s.target.name == s.input.stem.rsplit("_", 1)[0] + ".jpg" for s in samples)
    with pytest.raises(ValueError, match="expert_b"):
        load_pairs(f"msec-b:{msec / 'INPUT_IMAGES'}")


def test_lol_baid_pairs_sice_folder_layouts(tmp_path):
    lol = tmp_path / "lol"
    for n in ("1", "2"):
        _img(lol / "eval15" / "low" / f"{n}.png", 0.1)
        _img(lol / "eval15" / "high" / f"{n}.png", 0.5)
    s = load_pairs(f"lol:{lol}")
    assert len(s) == 2 and s[0].group == "eval15" and s[0].target.parent.name == "high"
    assert detect_kind(lol) == "lol"
    baid = tmp_path / "baid"
    _img(baid / "input" / "x.png")
    _img(baid / "GT" / "x.jpg")
    assert [p.name for p in load_pairs(f"baid:{baid}")] == ["input/x"]
    gen = tmp_path / "gen"
    _img(gen / "input" / "a.png")
    _img(gen / "target" / "a.png")
    _img(gen / "input" / "b.png")  # no target: skipped
    assert detect_kind(gen) == "pairs" and len(load_pairs(str(gen))) == 1
    sice = tmp_path / "sice"
    for i, v in enumerate((0.8, 0.1, 0.4)):
        _img(sice / "1" / f"{i + 1}.JPG", v)
    _img(sice / "Label" / "1.JPG", 0.5)
    s = load_pairs(f"sice:{sice}")
    assert [x.group for x in s] == ["1", "2", "3"] and s[0].input.name == "2.JPG"  # dark -> bright
    folder = tmp_path / "f"
    _img(folder / "z.png")
    kind, items = load_spec(f"folder:{folder}")
    assert kind == "folder" and items[0].target is None
    assert parse_spec("msec-a:/x") == ("msec", "a", "/x")
    with pytest.raises(ValueError, match="unknown shared set"):
        load_spec("shared:nope")


def test_paired_dataset_and_sizes(msec):
    ds = PairedImages(load_pairs(f"msec:{msec}"), size=16)
    x, y, i = ds[0]
    assert x.shape == (3, 16, 16) and y.shape == (3, 16, 16) and i == 0
    assert parse_size("native") is None and parse_size("256") == 256 and parse_size("long:64") == ("long", 64)
    with pytest.raises(ValueError):
        parse_size("big")


def test_runner_full_reference_and_no_reference(tmp_path):
    root = tmp_path / "p"
    _img(root / "input" / "a.png", seed=3, size=(40, 40))
    _img(root / "target" / "a.png", seed=3, size=(40, 40))
    res = evaluate_spec(lambda x: x, f"pairs:{root}", with_niqe=False)
    r = res["rows"][0]
    assert r["psnr"] == float("inf") or r["psnr"] > 90
    assert r["ssim"] == pytest.approx(1.0) and r["delta_e"] == pytest.approx(0.0, abs=1e-4) and r["edge_f1"] == 1.0
    dark = evaluate_spec(lambda x: x * 0.25, f"pairs:{root}", with_niqe=False)
    assert dark["mean"]["psnr"] < 20 and dark["mean"]["delta_e"] > 5
    folder = tmp_path / "nr"
    _img(folder / "grey.png", 0.25, size=(100, 120))
    nr = evaluate_spec("linear-gain", f"folder:{folder}", with_niqe=True)
    row = nr["rows"][0]
    assert row["input_lum_err"] == pytest.approx(0.25, abs=0.01) and row["lum_err"] < row["input_lum_err"]
    assert "psnr" not in row and np.isfinite(row["niqe"]) is not None


def test_cli_evaluate_writes_json_and_markdown(tmp_path):
    from exposurekit.cli.app import app
    from exposurekit.cli.main import _load_commands

    _load_commands()
    root = tmp_path / "p"
    for n in ("a", "b"):
        _img(root / "input" / f"{n}.png", 0.2, size=(32, 32))
        _img(root / "target" / f"{n}.png", 0.45, size=(32, 32))
    out = tmp_path / "r.json"
    res = CliRunner().invoke(app, ["evaluate", "-m", "linear-gain,auto-gamma", "-d", f"pairs:{root}",
                                   "--size", "long:24", "--no-niqe", "-o", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert [d["method"] for d in data] == ["linear-gain", "auto-gamma"] and len(data[0]["rows"]) == 2
    assert data[0]["rows"][0]["height"] == 24
    md = out.with_suffix(".md").read_text()
    assert "| input (no correction) |" in md and "| linear-gain |" in md
    bad = CliRunner().invoke(app, ["evaluate", "-m", "nope", "-d", f"pairs:{root}"])
    assert bad.exit_code == 2


def test_compare_writes_html_and_grid(tmp_path):
    from exposurekit.cli.app import app
    from exposurekit.cli.main import _load_commands

    _load_commands()
    _img(tmp_path / "in" / "a.png", 0.2, size=(30, 40))
    _img(tmp_path / "gt" / "a.png", 0.5, size=(30, 40))
    res = CliRunner().invoke(app, ["compare", str(tmp_path / "in"), "-m", "linear-gain,histeq",
                                   "--targets", str(tmp_path / "gt"), "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "out" / "index.html").read_text()
    for col in ("input", "linear-gain", "histeq", "target"):
        assert f"<th>{col}</th>" in page
    assert page.count("<svg") == 4 and "dB" in page
    grid = Image.open(tmp_path / "out" / "grid.png")
    assert grid.size[0] > 300
    assert len(list((tmp_path / "out" / "images").glob("*.png"))) == 4


def test_evaluate_samples_saves_outputs(tmp_path):
    from exposurekit.data.benchmarks import Sample

    p = _img(tmp_path / "x.png", 0.3, size=(20, 20))
    res = evaluate_samples(lambda x: torch.ones_like(x), [Sample(p, None, "x")], save_dir=tmp_path / "o",
                           with_niqe=False)
    assert res["rows"][0]["highlights"] == 1.0
    assert np.asarray(Image.open(tmp_path / "o" / "x.png")).min() == 255
