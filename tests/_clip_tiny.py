"""Test helpers of the CLIP-guided methods: a tiny random CLIP with the real vocabulary, tiny image folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def make_tiny_clip(folder: Path, tokenizer_dir: Path, seed: int = 0) -> Path:
    """Save a tiny random ``CLIPModel`` (32-wide towers, 32×32 images) plus the real tokenizer to ``folder``."""
    import torch
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

    torch.manual_seed(seed)
    cfg = CLIPConfig(
        text_config={"vocab_size": 49408, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                     "intermediate_size": 64, "max_position_embeddings": 77, "bos_token_id": 49406,
                     "eos_token_id": 49407, "pad_token_id": 49407},
        vision_config={"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "intermediate_size": 64, "image_size": 32, "patch_size": 8},
        projection_dim=16,
    )
    CLIPModel(cfg).save_pretrained(folder)
    CLIPTokenizer.from_pretrained(str(tokenizer_dir)).save_pretrained(folder)
    return folder


def write_folders(root: Path, n: int = 6, size: int = 40, seed: int = 0) -> tuple[Path, Path]:
    """Two folders of PNGs: "backlit" (dark textured centre, bright border) and "well-lit" (mid-tones)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    b, w = root / "backlit", root / "well"
    b.mkdir(parents=True, exist_ok=True)
    w.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:size, 0:size] / size
    centre = ((yy - 0.5) ** 2 + (xx - 0.5) ** 2) < 0.16  # a large dark subject
    for i in range(n):
        tex = rng.random((size, size, 3))
        dark = np.where(centre[..., None], 0.04 + 0.1 * tex, 0.9 + 0.1 * tex)
        mid = 0.3 + 0.4 * tex * rng.random(3) + 0.2 * xx[..., None]
        Image.fromarray((dark.clip(0, 1) * 255).astype(np.uint8)).save(b / f"b{i}.png")
        Image.fromarray((mid.clip(0, 1) * 255).astype(np.uint8)).save(w / f"w{i}.png")
    return b, w
