"""RAVE guidance: the residual vector between well-lit and backlit embeddings, and its loss.

.. math::

    v_{pos} = \\mathrm{n}(\\overline{\\mathrm{n}(E(w))}),\\quad v_{neg} = \\mathrm{n}(\\overline{\\mathrm{n}(E(b))}),\\quad
    v_{res} = \\mathrm{n}(v_{pos} - v_{neg}),\\quad thr = \\langle v_{pos}, v_{res} \\rangle

with :math:`\\mathrm{n}` the L2 normalisation. The loss of an output ``o`` is
:math:`(\\cos(E(o), v_{res}) - thr)^2`: a squared match of the projection onto :math:`v_{res}`.

Reference:
    Gaintseva et al., RAVE: Residual Vector Embedding for CLIP-Guided Backlit Image Enhancement, ECCV 2024.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["Residual", "residual_loss", "residual_vector", "shift_residual", "token_scores", "vocabulary_embeddings"]


@dataclass
class Residual:
    """The residual guidance.

    Attributes:
        v_pos: :math:`(D,)` normalised mean embedding of the well-lit images.
        v_neg: :math:`(D,)` normalised mean embedding of the backlit images.
        v_res: :math:`(D,)` ``normalise(v_pos - v_neg)``.
        thr: ``<v_pos, v_res>``, the target projection.
    """

    v_pos: Tensor
    v_neg: Tensor
    v_res: Tensor
    thr: float

    def projection(self, embeddings: Tensor) -> Tensor:
        """``cos(e, v_res)`` of embeddings :math:`(B, D)` → :math:`(B,)`."""
        return F.normalize(embeddings, dim=-1) @ self.v_res.to(embeddings)


def residual_vector(well_lit: Tensor, backlit: Tensor) -> Residual:
    """RAVE's residual from embeddings of the two training sets.

    Args:
        well_lit: :math:`(N, D)` embeddings of well-lit images (``N >= 1``).
        backlit: :math:`(M, D)` embeddings of backlit images (``M >= 1``).

    Raises:
        ValueError: an empty set, mismatched dimensions, or identical means (no direction).

    Example:
        >>> r = residual_vector(torch.tensor([[1.0, 1.0]]), torch.tensor([[1.0, 0.0]]))
        >>> [round(v, 3) for v in r.v_res.tolist()], round(r.thr, 3)
        ([-0.383, 0.924], 0.383)
    """
    if well_lit.ndim != 2 or backlit.ndim != 2 or well_lit.shape[1] != backlit.shape[1]:
        raise ValueError(f"expected (N, D) and (M, D) embeddings, got {tuple(well_lit.shape)} and {tuple(backlit.shape)}")
    if len(well_lit) == 0 or len(backlit) == 0:
        raise ValueError("the residual needs at least one well-lit and one backlit embedding")
    v_pos = F.normalize(F.normalize(well_lit.double(), dim=-1).mean(0), dim=0)
    v_neg = F.normalize(F.normalize(backlit.double(), dim=-1).mean(0), dim=0)
    diff = v_pos - v_neg
    if float(diff.norm()) < 1e-9:
        raise ValueError("the well-lit and backlit embeddings have the same mean: no residual direction")
    v_res = F.normalize(diff, dim=0)
    thr = float(v_pos @ v_res)
    return Residual(v_pos.float(), v_neg.float(), v_res.float(), thr)


def residual_loss(embeddings: Tensor, v_res: Tensor, thr: float | Tensor) -> Tensor:
    """Per-image RAVE loss :math:`(\\cos(e, v_{res}) - thr)^2`, shape :math:`(B,)`.

    Args:
        embeddings: :math:`(B, D)` image embeddings of the outputs (not necessarily normalised).
        v_res: :math:`(D,)` residual (unit norm).
        thr: target projection.
    """
    cos = F.normalize(embeddings, dim=-1) @ v_res.to(embeddings)
    return (cos - thr) ** 2


def token_scores(token_embeddings: Tensor, v_res: Tensor) -> Tensor:
    """``cos(token embedding, v_res)`` for every token :math:`(V, D)` → :math:`(V,)`."""
    return F.normalize(token_embeddings.float(), dim=-1) @ v_res.float()


def shift_residual(v_res: Tensor, token_embeddings: Tensor, k: int = 15) -> tuple[Tensor, Tensor, Tensor]:
    """RAVE's "shifted" residual: project the directions of the top/bottom-``k`` tokens out of ``v_res``.

    remove = n(n(Σ_top s·e) + n(Σ_bottom s·e)); v ← n(v_res − remove·⟨remove, v_res⟩).

    Args:
        v_res: :math:`(D,)` residual.
        token_embeddings: :math:`(V, D)` text embeddings of vocabulary tokens.
        k: tokens taken at each end.

    Returns:
        ``(shifted v_res (D,), top indices (k,), bottom indices (k,))``.
    """
    emb = F.normalize(token_embeddings.float(), dim=-1)
    scores = emb @ v_res.float()
    k = min(k, len(scores))
    top = scores.topk(k).indices
    bottom = (-scores).topk(k).indices
    up = F.normalize((scores[top, None] * emb[top]).sum(0), dim=0)
    down = F.normalize((scores[bottom, None] * emb[bottom]).sum(0), dim=0)
    remove = F.normalize(up + down, dim=0)
    shifted = F.normalize(v_res.float() - remove * (remove @ v_res.float()), dim=0)
    return shifted, top, bottom


@torch.no_grad()
def vocabulary_embeddings(guide, batch: int = 1024) -> Tensor:  # noqa: ANN001 (ClipGuide, imported lazily)
    """Text embeddings :math:`(V, D)` of every vocabulary token, each read as ``<bos> token <eos>``."""
    tok = guide.tokenizer
    v = guide.token_embedding.num_embeddings
    bos, eos = tok.bos_token_id, tok.eos_token_id
    out = []
    dev = guide.token_embedding.weight.device
    for start in range(0, v, batch):
        ids = torch.arange(start, min(v, start + batch), device=dev)
        seq = torch.stack([torch.full_like(ids, bos), ids, torch.full_like(ids, eos)], dim=1)
        emb = guide.token_embedding(seq)
        out.append(guide.encode_text_embeddings(emb, torch.full_like(ids, 2)))
    return torch.cat(out)
