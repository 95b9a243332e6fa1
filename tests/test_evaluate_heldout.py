"""The held-out bracket protocol on synthetic brackets (exact expectations) and on one real bracket."""

from __future__ import annotations

import math

import pytest
import torch

from exposurekit.evaluate import SimpleBracket, brackets_markdown, evaluate_brackets, pick_target
from exposurekit.evaluate.heldout import summarize_rows
from exposurekit.evaluate.report import markdown_table, replace_block
from exposurekit.ops.color import linear_to_srgb, srgb_to_linear


def _scene(seed: int, n: int = 5, h: int = 40, w: int = 48) -> SimpleBracket:
    g = torch.Generator().manual_seed(seed)
    base = torch.nn.functional.interpolate(torch.rand(1, 3, 6, 8, generator=g), size=(h, w), mode="bilinear")
    lin = srgb_to_linear(base.clamp(0.05, 0.9))
    evs = [float(e) for e in range(-(n // 2), n - n // 2)]
    frames = [linear_to_srgb((lin * 2.0**e).clamp(0, 1)) for e in evs]
    return SimpleBracket("synthetic", f"s{seed}", frames, evs=evs)


def test_pick_target_odd_and_even():
    frames = [torch.full((1, 3, 4, 4), v) for v in (0.1, 0.3, 0.45, 0.9)]
    assert pick_target(frames) == 2                       # 0.45 is nearer 0.5 than 0.3
    assert pick_target(frames[:3]) == 1


def test_identity_scores_equal_input_scores_and_offsets():
    brs = [_scene(0), _scene(1)]
    res = evaluate_brackets(lambda x: x, brs, long_side=None)
    assert res["n_brackets"] == 2 and len(res["rows"]) == 8
    assert list(res["by_offset"]) == ["-2", "-1", "+1", "+2"]
    for r in res["rows"]:
        assert r["psnr"] == pytest.approx(r["input_psnr"]) and r["ssim"] == pytest.approx(r["input_ssim"])
        assert r["ev_offset"] == r["offset"]              # EVs step by 1
    # further from the target -> worse
    bo = res["by_offset"]
    assert bo["-2"]["psnr"] < bo["-1"]["psnr"] and bo["+2"]["psnr"] < bo["+1"]["psnr"]
    assert res["mean"]["n"] == 8


def test_oracle_gain_beats_identity_and_table_lists_methods():
    brs = [_scene(2), _scene(3, n=3)]

    def oracle(x):  # knows the scene: exposes in linear light to the target's mean
        return linear_to_srgb(srgb_to_linear(x) * (0.18 / srgb_to_linear(x).mean()))

    ident = evaluate_brackets(lambda x: x, brs, long_side=None)
    res = evaluate_brackets(oracle, brs, long_side=None)
    assert res["mean"]["psnr"] > ident["mean"]["psnr"] and res["mean"]["delta_e"] < ident["mean"]["delta_e"]
    ident["method"], res["method"] = "identity", "oracle"
    md = brackets_markdown([ident, res], "all")
    lines = md.splitlines()
    assert lines[0].startswith("| method (PSNR / SSIM / ΔE00) | -2 | -1 | +1 | +2 | all | n |")
    assert lines[2].startswith("| input (no correction) |") and lines[4].startswith("| oracle |")
    assert len(lines) == 5


def test_offsets_beyond_three_are_pooled_and_short_brackets_skipped():
    brs = [_scene(4, n=9), SimpleBracket("synthetic", "pair", [torch.rand(1, 3, 16, 16)] * 2)]
    res = evaluate_brackets(lambda x: x, brs, long_side=None)
    assert res["n_brackets"] == 1
    assert list(res["by_group"]) == ["<=-3", "-2", "-1", "+1", "+2", ">=+3"]
    assert res["by_group"]["<=-3"]["n"] == 2 and res["by_group"][">=+3"]["n"] == 2
    sub = summarize_rows([r for r in res["rows"] if r["offset"] < 0])
    assert sub["mean"]["n"] == 4


def test_method_must_keep_shape_and_sequence_methods_refused():
    with pytest.raises(ValueError, match="output shape"):
        evaluate_brackets(lambda x: x[..., :-1], [_scene(5)], long_side=None)
    from exposurekit.methods import load_method

    with pytest.raises(TypeError, match="fuses"):
        evaluate_brackets(load_method("mertens"), [_scene(5)])


def test_registered_method_by_name_and_long_side():
    res = evaluate_brackets("linear-gain", [_scene(6, h=64, w=96)], long_side=32)
    assert res["method"] == "linear-gain" and res["long_side"] == 32
    assert math.isfinite(res["mean"]["psnr"]) and res["mean"]["psnr"] > res["input_mean"]["psnr"]


def test_report_helpers(tmp_path):
    assert markdown_table([{"method": "x", "psnr": float("nan")}], ["psnr"]).endswith("| x | – |")
    doc = tmp_path / "r.md"
    doc.write_text("a\n<!-- k -->\nold\n<!-- /k -->\nb\n")
    assert replace_block(doc, "k", "new\n")
    assert doc.read_text() == "a\n<!-- k -->\nnew\n<!-- /k -->\nb\n"
    assert not replace_block(doc, "missing", "x")


def test_real_heldout_bracket(shared_data):
    from exposurekit.evaluate import heldout_brackets

    brs = heldout_brackets(shared_data, ["deepfuse"])
    assert brs and all(b.held_out and len(b.frames) >= 3 for b in brs)
    res = evaluate_brackets("linear-gain", brs[:1], long_side=96)
    assert len(res["rows"]) == len(brs[0].frames) - 1
    assert {r["offset"] for r in res["rows"]} == {-1, +1}
    assert all(5 < r["psnr"] < 60 and 0 < r["ssim"] <= 1 for r in res["rows"])


def test_reference_target_scores_every_frame(tmp_path):
    from PIL import Image

    br = _scene(7, n=3)
    ref = tmp_path / "label.png"
    Image.fromarray((br.frames[1][0].permute(1, 2, 0).numpy() * 255).round().astype("uint8")).save(ref)
    br.extra = {}
    br.reference = ref  # type: ignore[attr-defined]
    res = evaluate_brackets(lambda x: x, [br], long_side=None, use_reference=True)
    assert [r["offset"] for r in res["rows"]] == [-1, 0, 1]
    assert res["rows"][1]["psnr"] > 40 and res["rows"][1]["target_kind"] == "reference"


def test_space_y_uses_luma():
    from exposurekit.metrics import psnr

    br = _scene(8, n=3)
    res = evaluate_brackets(lambda x: x, [br], long_side=None, space="y")
    assert res["space"] == "y"
    expect = float(psnr(br.frames[0], br.frames[1], space="y")[0])
    assert res["rows"][0]["psnr"] == pytest.approx(expect, rel=1e-5)
