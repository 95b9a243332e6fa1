"""CLIP-LIT prompt guidance: two learned "prompts" (backlit = 0, well-lit = 1) and their losses.

Two kinds of prompt share one interface (``forward() -> (2, D)`` class vectors):

* :class:`PromptLearner` (CLIP-LIT): each prompt is ``n_tokens`` learnable token embeddings,
  initialised from the embedding of the word ``"X"``, read through CLIP's text transformer at the end
  token (needs a CLIP model with a tokenizer).
* :class:`LatentPrompts` (CLIP-LIT-Latent): two free vectors in the image-embedding space,
  initialised N(0, 1); any image encoder can be used since no text is read.

Scores are ``scale · cos(image, prompt)`` (scale 100 as in CLIP); ``P(backlit | x)`` is the softmax
of the two scores at index 0.

Reference:
    Liang et al., Iterative Prompt Learning for Unsupervised Backlit Image Enhancement, ICCV 2023.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "BACKLIT",
    "WELL_LIT",
    "LatentPrompts",
    "PromptLearner",
    "backlit_probability",
    "prompt_logits",
    "ranking_loss",
]

BACKLIT, WELL_LIT = 0, 1


class LatentPrompts(nn.Module):
    """Two free class vectors :math:`(2, D)` in the image-embedding space (CLIP-LIT-Latent).

    Args:
        dim: embedding dimension of the image encoder.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.vectors = nn.Parameter(torch.randn(2, dim))

    def forward(self) -> Tensor:
        """Class vectors :math:`(2, D)` (backlit, well-lit)."""
        return self.vectors


class PromptLearner(nn.Module):
    """Two prompts of ``n_tokens`` learnable token embeddings read by CLIP's text transformer.

    The token sequence is ``<bos> X X … X . <eos>``; the ``X`` embeddings are learned, the rest is fixed.

    Args:
        guide: a :class:`~exposurekit.guidance.clip.ClipGuide` with a tokenizer.
        n_tokens: learnable tokens per prompt (16 in CLIP-LIT).
        init_word: word whose embedding initialises every learnable token.
    """

    def __init__(self, guide: nn.Module, n_tokens: int = 16, init_word: str = "X") -> None:
        super().__init__()
        self._guide = [guide]  # not a submodule: CLIP is frozen and not saved with the prompts
        ids = guide.tokenize([" ".join([init_word] * n_tokens) + "."])
        word = guide.tokenize([init_word])[0, 1]
        start = 1
        if not bool((ids[0, start:start + n_tokens] == word).all()):
            raise ValueError(f"the tokenizer splits {init_word!r} into several tokens; choose a single-token word")
        with torch.no_grad():
            emb = guide.token_embedding(ids)[0]  # (S, W)
        self.register_buffer("prefix", emb[:start].clone())
        self.register_buffer("suffix", emb[start + n_tokens:].clone())
        self.register_buffer("end_position", guide.end_positions(ids)[:1].clone())
        self.ctx = nn.Parameter(emb[start:start + n_tokens].clone().unsqueeze(0).repeat(2, 1, 1))
        self.n_tokens = n_tokens

    @property
    def guide(self) -> nn.Module:
        return self._guide[0]

    def token_embeddings(self) -> Tensor:
        """:math:`(2, S, W)` token embeddings of both prompts."""
        n = self.ctx.shape[0]
        return torch.cat([self.prefix.expand(n, -1, -1), self.ctx, self.suffix.expand(n, -1, -1)], dim=1)

    def forward(self) -> Tensor:
        """Class vectors :math:`(2, D)`: text embeddings of the two prompts."""
        emb = self.token_embeddings()
        return self.guide.encode_text_embeddings(emb, self.end_position.expand(emb.shape[0]))


def prompt_logits(image_embeddings: Tensor, class_vectors: Tensor, scale: float = 100.0) -> Tensor:
    """``scale · cos(image, class)`` :math:`(B, 2)` from :math:`(B, D)` and :math:`(2, D)`."""
    return scale * F.normalize(image_embeddings, dim=-1) @ F.normalize(class_vectors, dim=-1).t()


def backlit_probability(image_embeddings: Tensor, class_vectors: Tensor, scale: float = 100.0) -> Tensor:
    """``P(backlit | x)`` :math:`(B,)`: softmax of the two scores, backlit entry."""
    return prompt_logits(image_embeddings, class_vectors, scale).softmax(-1)[:, BACKLIT]


def ranking_loss(pairs: list[tuple[Tensor, Tensor, float]]) -> Tensor:
    """Margin ranking over ``(s_more_backlit (N,), s_less_backlit (N,), margin)`` triples, summed.

    Each term is ``mean(max(0, margin - (s_a - s_b)))``: ``s_a`` should exceed ``s_b`` by ``margin``.
    """
    total = None
    for a, b, margin in pairs:
        n = min(len(a), len(b))
        term = F.margin_ranking_loss(a[:n], b[:n], torch.ones_like(a[:n]), margin=margin)
        total = term if total is None else total + term
    if total is None:
        raise ValueError("ranking_loss needs at least one pair")
    return total
