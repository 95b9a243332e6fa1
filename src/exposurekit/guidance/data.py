"""Training data of the CLIP-guided methods: unpaired backlit / well-lit folders and cached embeddings.

Images are read once (EXIF-upright RGB through :mod:`exposurekit.io`) and squash-resized to a small
square (the published recipe resizes whole images to 512×512; we train smaller on a CPU). The image
embeddings of each folder are computed once per (folder contents, encoder) and cached on disk in
``$EXPOSUREKIT_CACHE/embeddings`` (default ``~/.cache/exposurekit/embeddings``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ImageSet", "cache_dir", "folder_embeddings", "load_image_set", "random_views"]


@dataclass
class ImageSet:
    """Images of one or more folders.

    Attributes:
        images: :math:`(N, 3, S, S)` uint8 squares.
        paths: the files, in order.
        folders: the folders, with the index range of their images.
    """

    images: Tensor
    paths: list[Path]
    folders: list[tuple[Path, int, int]]

    def __len__(self) -> int:
        return len(self.paths)

    def float(self) -> Tensor:
        return self.images.float() / 255.0


def cache_dir() -> Path:
    """Folder of the embedding cache (``$EXPOSUREKIT_CACHE/embeddings``)."""
    root = os.environ.get("EXPOSUREKIT_CACHE") or Path.home() / ".cache" / "exposurekit"
    return Path(root) / "embeddings"


def _read_square(path: Path, side: int) -> Tensor:
    from exposurekit.io import read_image
    from exposurekit.ops.convert import array_to_tensor

    data = read_image(path)
    x = array_to_tensor(data.rgb)
    x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False,
                      antialias=min(x.shape[-2:]) > side)
    return (x[0].clamp(0, 1) * 255).round().to(torch.uint8)


def load_image_set(folders: Sequence[str | Path], side: int, role: str, use_cache: bool = True) -> ImageSet:
    """Read every image of ``folders`` as a ``side``×``side`` uint8 square (cached per folder on disk).

    Raises:
        ValueError: a folder that does not exist or holds no images (the message names it and ``role``).
    """
    from exposurekit.io import expand_inputs

    if not folders:
        raise ValueError(f"no {role} folder given")
    images, paths, spans = [], [], []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise ValueError(f"{role} folder not found: {folder}")
        files = [p for p in expand_inputs([folder]) if p.is_file()]
        if not files:
            raise ValueError(f"{role} folder {folder} holds no images")
        start = len(paths)
        cached = cache_dir().parent / "squares" / f"{_fingerprint(files)[:24]}_{side}.pt" if use_cache else None
        squares = None
        if cached is not None and cached.is_file():
            try:
                squares = torch.load(cached, map_location="cpu")
            except Exception:  # a corrupt cache entry is recomputed
                squares = None
        if squares is None or len(squares) != len(files):
            squares = torch.stack([_read_square(p, side) for p in files])
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_suffix(f".{os.getpid()}.tmp")
                torch.save(squares, tmp)
                os.replace(tmp, cached)
        images.extend(squares)
        paths.extend(files)
        spans.append((folder, start, len(paths)))
    return ImageSet(torch.stack(images), paths, spans)


def _fingerprint(paths: Sequence[Path]) -> str:
    h = hashlib.sha1()
    for p in paths:
        st = p.stat()
        h.update(f"{p.resolve()}|{st.st_size}|{int(st.st_mtime)}\n".encode())
    return h.hexdigest()


@torch.no_grad()
def folder_embeddings(encoder: nn.Module, images: ImageSet, side: int, batch: int = 16,
                      use_cache: bool = True) -> Tensor:
    """Embeddings :math:`(N, D)` of ``images`` by ``encoder``, computed once per folder and cached.

    Args:
        encoder: module with ``cache_key`` mapping :math:`(B, 3, H, W)` → :math:`(B, D)`.
        images: the set (its squares are what gets embedded).
        side: side of the squares (part of the cache key).
        batch: images per forward pass.
        use_cache: read/write the on-disk cache.
    """
    key_enc = getattr(encoder, "cache_key", None)
    out = []
    device = next((b.device for b in list(encoder.parameters()) + list(encoder.buffers())), torch.device("cpu"))
    for _folder, a, b in images.folders:
        path = None
        if use_cache and key_enc:
            key = hashlib.sha1(f"{key_enc}|{side}|{_fingerprint(images.paths[a:b])}".encode()).hexdigest()
            path = cache_dir() / f"{key[:24]}.pt"
            if path.is_file():
                try:
                    out.append(torch.load(path, map_location="cpu"))
                    continue
                except Exception:  # a corrupt cache entry is recomputed
                    pass
        chunk = []
        for s in range(a, b, batch):
            x = images.images[s:min(b, s + batch)].float().div(255).to(device)
            chunk.append(encoder(x).float().cpu())
        emb = torch.cat(chunk)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            torch.save(emb, tmp)
            os.replace(tmp, path)
        out.append(emb)
    return torch.cat(out)


def random_views(images: Tensor, batch: int, generator: torch.Generator) -> Tensor:
    """``batch`` random images of :math:`(N, 3, S, S)` uint8 with random flips/transposes → float [0, 1]."""
    idx = torch.randint(0, images.shape[0], (batch,), generator=generator)
    x = images[idx].float().div(255)
    flips = torch.randint(0, 2, (3, batch), generator=generator).bool()
    x = torch.where(flips[0].view(-1, 1, 1, 1), x.flip(-1), x)
    x = torch.where(flips[1].view(-1, 1, 1, 1), x.flip(-2), x)
    x = torch.where(flips[2].view(-1, 1, 1, 1), x.transpose(-1, -2), x)
    return x
