"""Real brackets: layouts, ordering, held-out flags, reading, and SICE scene recovery against hand labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from exposurekit.data.brackets import (
    DUPLICATE_SCENES,
    MID_GREY,
    Bracket,
    detect_layout,
    duplicates_of,
    ev_from_name,
    is_held_out_any,
    load_brackets,
    read_bracket,
    shared_brackets,
    split_brackets,
)
from exposurekit.data.sice import SiceRecoveryParams, _listing_key, recover_sice_scenes
from exposurekit.data.splits import is_held_out


@pytest.fixture(autouse=True)
def _one_thread():
    """The CI machine is shared: torch's thread pool only adds contention for these small tensors."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# Hand-labelled by looking at contact sheets of the frames (see docs/sequences.md). Each pair (a, a+1)
# is a true scene boundary: frame a ends one scene and a+1 starts another.
SICE_BOUNDARIES = [
    8, 17, 26, 33, 42, 49, 56, 63, 70, 77, 86, 95,  # 86|87: two near-identical views of the same building
    113, 120, 129, 138, 147, 152, 166, 173,
    383, 390, 397, 404, 411, 418, 425, 432, 439, 446, 453, 458, 465, 472, 479,
    587, 594, 604, 614, 624, 629, 634, 639, 644, 649, 654, 664, 674, 679,
    931, 934, 937, 950, 953, 956, 965, 970, 975, 980, 985, 990, 995,
    1202, 1215, 1235, 1254, 1261, 1268,
    1287, 1304, 1321, 1340, 1359, 1366, 1373, 1382, 1385, 1392,
]
# Ranges checked frame by frame on the contact sheets: every boundary inside is in SICE_BOUNDARIES.
SICE_CHECKED_RANGES = [(2, 174), (381, 480), (581, 680), (931, 1000), (1201, 1400)]
# Pairs of frames that are the same scene although numbering or brightness suggests otherwise:
# out-of-order bright/dark first frames, and stray frames far from the rest of their scene.
SICE_SAME_SCENE = [
    (34, 35), (78, 79), (87, 88), (595, 596), (596, 597), (605, 606), (615, 616),
    (96, 113), (153, 166),  # long scenes (18 and 14 frames)
    (1, 100), (1001, 1068), (1013, 1057), (1079, 1002), (1090, 1006),
    (938, 939), (942, 943), (938, 943),  # one 13-frame scene numbered in text order: 1, 10-13, 2-9
]
# Different scenes that look alike (same building / corridor) or sit close in the numbering.
SICE_DIFFERENT = [(78, 95), (86, 87), (1096, 1203), (1003, 1002), (953, 954)]


@pytest.fixture(scope="module")
def sice_run(shared_data: Path, tmp_path_factory) -> tuple[dict[str, list[Path]], Path]:
    """Scenes recovered from scratch (an empty cache folder, so the real algorithm runs), and that folder."""
    cache = tmp_path_factory.mktemp("ekcache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EXPOSUREKIT_CACHE_DIR", str(cache))
        scenes = recover_sice_scenes(shared_data / "sice_part1_512_zerodcepp_train")
    return scenes, cache


@pytest.fixture(scope="module")
def sice_scenes(sice_run) -> dict[int, str]:
    """``{frame number: scene}``."""
    return {int(f.stem): name for name, frames in sice_run[0].items() for f in frames}


def test_sice_recovery_matches_hand_labelled_boundaries(sice_scenes):
    wrong = [a for a in SICE_BOUNDARIES if sice_scenes[a] == sice_scenes[a + 1]]
    assert not wrong, f"missed boundaries after frames {wrong}"


def test_sice_recovery_has_no_extra_boundaries_in_checked_ranges(sice_scenes):
    extra = [a for lo, hi in SICE_CHECKED_RANGES for a in range(lo, hi)
             if sice_scenes[a] != sice_scenes[a + 1] and a not in SICE_BOUNDARIES]
    assert not extra, f"boundaries where there are none, after frames {extra}"


def test_sice_recovery_keeps_scenes_together(sice_scenes):
    split = [(a, b) for a, b in SICE_SAME_SCENE if sice_scenes[a] != sice_scenes[b]]
    assert not split, f"same-scene frames split apart: {split}"
    merged = [(a, b) for a, b in SICE_DIFFERENT if sice_scenes[a] == sice_scenes[b]]
    assert not merged, f"different scenes merged: {merged}"


def test_sice_recovery_covers_every_frame_once(shared_data, sice_scenes):
    files = list((shared_data / "sice_part1_512_zerodcepp_train").glob("*.jpg"))
    assert len(sice_scenes) == len(files) == 1364
    sizes = np.bincount(list(np.unique(list(sice_scenes.values()), return_counts=True)[1]))
    assert 150 <= len(set(sice_scenes.values())) <= 220
    assert sizes[1:3].sum() <= 3, "too many one- or two-frame scenes"
    # no scene spans a numbering gap (MANIFEST: gaps at 1147-1155, 1165-1173, 1183-1200)
    for name in set(sice_scenes.values()):
        nums = [n for n, s in sice_scenes.items() if s == name]
        for lo, hi in ((1146, 1156), (1164, 1174), (1182, 1201)):
            assert not (min(nums) <= lo and max(nums) >= hi), name


def test_sice_recovery_cache_is_used_and_identical(shared_data, sice_run, monkeypatch):
    first, cache = sice_run
    assert len(list(cache.glob("sice_scenes_*.json"))) == 1
    monkeypatch.setenv("EXPOSUREKIT_CACHE_DIR", str(cache))
    root = shared_data / "sice_part1_512_zerodcepp_train"
    import time

    t = time.perf_counter()
    second = recover_sice_scenes(root)
    assert time.perf_counter() - t < 1.5
    assert first == second
    # parameters are part of the cache key: other parameters do not reuse this cache
    files = sorted(root.glob("*.jpg"))
    assert _listing_key(files, SiceRecoveryParams()) != _listing_key(files, SiceRecoveryParams(link_threshold=0.5))


def test_shared_brackets_all_datasets_dark_to_bright(shared_data):
    bs = shared_brackets(shared_data)
    by = {}
    for b in bs:
        by.setdefault(b.dataset, []).append(b)
    assert len(by["mef"]) == 24 and len(by["deepfuse"]) == 46 and len(by["mefb"]) == 31
    assert len(by["sice"]) > 150
    for b in bs:
        assert len(b.frames) >= 2 and all(f.is_file() for f in b.frames)
        lum = b.luminance
        assert lum == sorted(lum) or b.evs is not None, (b.dataset, b.scene, lum)
        assert b.held_out == is_held_out_any(b.dataset, b.scene)
        assert b.held_out >= is_held_out(b.dataset, b.scene)
    # MEFB: A (under) first in every pair, and it is darker
    for b in by["mefb"]:
        assert b.frames[0].stem.endswith("_A") and b.luminance[0] < b.luminance[1]
    studio = next(b for b in by["mef"] if b.scene == "Studio")
    assert studio.evs == [-4.0, -2.0, 0.0, 2.0, 4.0] and studio.middle_index == 2
    train, held = split_brackets(bs)
    assert held and train and not any(b.held_out for b in train)
    assert {b.dataset for b in held} == {"sice", "mef", "deepfuse", "mefb"}


def test_duplicate_scenes_exist_and_share_the_split(shared_data):
    bs = {(b.dataset, b.scene): b for b in shared_brackets(shared_data)}
    for a, b in DUPLICATE_SCENES:
        assert a in bs and b in bs, (a, b)  # the table names real scenes (SICE names follow the recovery)
        assert bs[a].held_out == bs[b].held_out, (a, b)
    # a held-out copy makes its twin held out, even where the hash alone would train on it
    lifted = [k for k, b in bs.items() if b.held_out and not is_held_out(*k)]
    assert lifted and all(any(is_held_out(*d) for d in duplicates_of(*k)) for k in lifted)
    assert duplicates_of("mef", "Arno") == [("mefb", "Arno")] and duplicates_of("mef", "Venice") == []


def test_middle_index_rule(tmp_path):
    paths = []
    for i, v in enumerate((10, 60, 120, 230)):
        p = tmp_path / f"{i}.png"
        Image.fromarray(np.full((8, 8, 3), v, np.uint8)).save(p)
        paths.append(p)
    b = Bracket("x", "s", paths)
    assert b.middle_index == 2  # 120/255 = 0.47 is closest to MID_GREY
    assert abs(b.luminance[2] - 120 / 255) < 1e-3 and abs(MID_GREY - 0.46) < 1e-9
    assert Bracket("x", "s", paths[:3], [-2.0, -0.5, 1.0]).middle_index == 1


def test_read_bracket_common_size(shared_data):
    mefb = load_brackets(shared_data / "mefb_100_pairs")
    b = mefb[0]
    x = read_bracket(b, long_side=96)
    assert x.shape[0] == 2 and x.shape[1] == 3 and max(x.shape[-2:]) == 96
    assert x.dtype == torch.float32 and 0 <= float(x.min()) and float(x.max()) <= 1
    assert float(x[0].mean()) < float(x[1].mean())
    y = read_bracket(b, size=(40, 50))
    assert y.shape == (2, 3, 40, 50)


def test_detect_layouts(shared_data, tmp_path):
    assert detect_layout(shared_data / "sice_part1_512_zerodcepp_train") == "sice-flat"
    assert detect_layout(shared_data / "mef_ma_database") == "mef"
    assert detect_layout(shared_data / "deepfuse_iccv17_pairs") == "deepfuse"
    assert detect_layout(shared_data / "mefb_100_pairs") == "mefb"
    # standard SICE layout, built from real frames
    frames = sorted((shared_data / "sice_part1_512_zerodcepp_train").glob("*.jpg"), key=lambda p: int(p.stem))
    for k, nums in ((1, (5, 3, 4)), (2, (45, 44))):
        (tmp_path / str(k)).mkdir()
        for j, n in enumerate(nums):
            (tmp_path / str(k) / f"{j + 1}.JPG").write_bytes(frames[n - 1].read_bytes())
    (tmp_path / "Label").mkdir()
    (tmp_path / "Label" / "1.JPG").write_bytes(frames[5].read_bytes())
    assert detect_layout(tmp_path) == "sice"
    bs = load_brackets(tmp_path)
    assert [b.scene for b in bs] == ["1", "2"] and bs[0].reference == tmp_path / "Label" / "1.JPG"
    assert [f.name for f in bs[0].frames] == ["2.JPG", "3.JPG", "1.JPG"]  # frames 3, 4, 5: dark -> bright
    with pytest.raises(ValueError):
        detect_layout(tmp_path / "Label" / "1.JPG")


def test_ev_from_name():
    assert ev_from_name("ev-1.5.png") == -1.5
    assert ev_from_name("ev+0.png") == 0.0
    assert ev_from_name("a/ev+3.png") == 3.0
    assert ev_from_name("StudioEV-4.png") == -4.0
    assert ev_from_name("level3.png") is None and ev_from_name("img2.JPG") is None
