"""Contact sheet of synthesized and real exposure sequences -> docs/sequences_contact_sheet.png.

Rows: clean photos rendered through sRGB unprocessing (``exposurekit synth --from srgb``), the two RAW
samples rendered through the RAW pipeline (``--from raw``), and two real SICE scenes recovered from the
flat folder. Each tile is labelled with its mean sRGB luma.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/sequences_contact_sheet.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from exposurekit.data.brackets import load_brackets
from exposurekit.isp.synth import SynthSettings, synthesize_dataset

REPO = Path(__file__).resolve().parent.parent
EVS = (-3.0, -1.5, -1.0, 0.0, 1.0, 1.5, 3.0)
SRGB_SOURCES = [
    "clean_kodak24/kodim23.png",
    "clean_kodak24/kodim08.png",
    "clean_skimage_data/astronaut.png",
    "clean_debian_lomiri_wallpapers_1604/sunset_by_Aitzol_Berasategi.jpg",
    "clean_debian_mate_nature/Dune.jpg",
]
SICE_SCENES = ("0595", "1001")  # a 10-frame scene whose first frames are out of order; a scene of strays
TILE = 150


def _tile(path: Path) -> tuple[Image.Image, float]:
    with Image.open(path) as im:
        im = im.convert("RGB")
        im.thumbnail((TILE, TILE))
        a = np.asarray(im, dtype=np.float32) / 255
    luma = float((a @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)).mean())
    canvas = Image.new("RGB", (TILE, TILE), (255, 255, 255))
    canvas.paste(im, ((TILE - im.width) // 2, (TILE - im.height) // 2))
    return canvas, luma


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "sequences_contact_sheet.png")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows: list[tuple[str, list[tuple[str, Path]]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        synthesize_dataset([args.data / s for s in SRGB_SOURCES], tmp / "srgb",
                           SynthSettings(evs=EVS, source="srgb", seed=0, long_side=384))
        synthesize_dataset(args.data / "raw_samples", tmp / "raw",
                           SynthSettings(evs=EVS, source="raw", long_side=384, bayer_pattern="GRBG",
                                         black_level=25, white_level=1023))
        for kind, folder in (("sRGB unprocessed", tmp / "srgb"), ("RAW", tmp / "raw")):
            for b in load_brackets(folder):
                rows.append((f"{kind}: {b.scene}", [(f"EV {e:+g}", f) for e, f in zip(b.evs, b.frames, strict=True)]))
        sice = {b.scene: b for b in load_brackets(args.data / "sice_part1_512_zerodcepp_train")}
        for name in SICE_SCENES:
            b = sice[name]
            idx = sorted({int(round(v)) for v in np.linspace(0, len(b.frames) - 1, min(len(EVS), len(b.frames)))})
            rows.append((f"SICE real, recovered scene {name} ({len(b.frames)} frames)",
                         [(f"#{b.frames[i].stem}", b.frames[i]) for i in idx]))
        label_h, cap_h, left = 16, 14, 0
        width = len(EVS) * TILE
        height = sum(label_h + TILE + cap_h for _ in rows)
        sheet = Image.new("RGB", (width, height), (255, 255, 255))
        draw = ImageDraw.Draw(sheet)
        y = 0
        for title, tiles in rows:
            draw.text((4, y + 2), title, fill=(0, 0, 0))
            y += label_h
            for k, (cap, path) in enumerate(tiles):
                im, luma = _tile(path)
                sheet.paste(im, (left + k * TILE, y))
                draw.text((left + k * TILE + 4, y + TILE + 1), f"{cap}  mean {luma:.2f}", fill=(40, 40, 40))
            y += TILE + cap_h
        args.out.parent.mkdir(parents=True, exist_ok=True)
        sheet.save(args.out, optimize=True)
    print(f"wrote {args.out} ({width}x{height}, {len(rows)} rows)")


if __name__ == "__main__":
    main()
