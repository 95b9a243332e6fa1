"""CLIP loaded the real way (transformers ``CLIPModel`` / ``CLIPTokenizer``), used differentiably.

* :func:`load_clip` loads a model and tokenizer from a hub id or a local folder with ``from_pretrained``
  (no download happens when the folder exists; hub ids need a cache or network) and fails with one
  clear line when ``transformers`` is missing, the folder is unreadable or the tokenizer has no vocabulary.
* :func:`clip_preprocess` squashes to 224×224 and applies CLIP's mean/std in torch, so gradients reach
  the enhancement network.
* :class:`ClipGuide` embeds images and texts, and runs the text transformer on *token embeddings*
  (learned prompts): embeddings → causal mask → encoder → final norm → end-token pooling → projection.
  It equals ``get_text_features`` on real token ids (tested).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "CLIP_MEAN",
    "CLIP_STD",
    "ClipGuide",
    "ClipLoadError",
    "clip_preprocess",
    "load_clip",
    "require_transformers",
]

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ClipLoadError(RuntimeError):
    """A CLIP model or tokenizer could not be loaded (the message is one line saying why)."""


def require_transformers() -> Any:
    """Import and return ``transformers``, or raise a one-line ImportError naming the extra."""
    try:
        import transformers
    except ImportError as exc:
        raise ImportError("CLIP guidance needs the `transformers` package: pip install exposurekit[clip]") from exc
    return transformers


def clip_preprocess(images: Tensor, size: int = 224) -> Tensor:
    """Squash-resize to ``size``×``size`` (no crop) and normalise with CLIP's mean and std.

    Differentiable (bicubic resize in torch, antialiased when shrinking).

    Args:
        images: :math:`(B, 3, H, W)` RGB in [0, 1].
        size: side of the square CLIP input.

    Returns:
        :math:`(B, 3, size, size)` normalised pixel values.
    """
    h, w = images.shape[-2:]
    if (h, w) != (size, size):
        shrink = h > size or w > size
        images = F.interpolate(images, size=(size, size), mode="bicubic", align_corners=False, antialias=shrink)
    mean = images.new_tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = images.new_tensor(CLIP_STD).view(1, 3, 1, 1)
    return (images.clamp(0, 1) - mean) / std


def load_clip(source: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, Any]:
    """Load ``(CLIPModel, CLIPTokenizer)`` with ``from_pretrained`` from a hub id or a local folder.

    The tokenizer is optional for image-only guidance: when the folder has none, ``None`` is returned
    for it; when it has one without a vocabulary, loading fails.

    Args:
        source: hub id (``openai/clip-vit-base-patch32``) or a folder written by ``save_pretrained``.
        device: where to put the model.

    Returns:
        The frozen model in eval mode and the tokenizer (or ``None``).

    Raises:
        ImportError: ``transformers`` is not installed (names the ``[clip]`` extra).
        ClipLoadError: unreadable folder, no model there, or a tokenizer without vocabulary.
    """
    transformers = require_transformers()
    src = str(source)
    path = Path(src).expanduser()
    local = path.exists() or src.startswith((".", "/", "~"))
    if local:
        if not path.is_dir():
            raise ClipLoadError(f"CLIP model folder not found or not a folder: {path}")
        try:
            names = {p.name for p in path.iterdir()}
        except OSError as exc:
            raise ClipLoadError(f"CLIP model folder {path} is unreadable: {exc.strerror or exc}") from None
        if "config.json" not in names:
            raise ClipLoadError(f"{path} is not a CLIP model folder (no config.json); "
                                "save one with CLIPModel.save_pretrained(folder)")
        src = str(path)
    try:
        model = transformers.CLIPModel.from_pretrained(src)
    except Exception as exc:  # transformers raises many types; report one line
        raise ClipLoadError(f"cannot load a CLIP model from {src!r}: {_first_line(exc)}") from None
    tokenizer = None
    has_tok = (not local) or bool({"vocab.json", "tokenizer.json", "tokenizer_config.json", "merges.txt"} & names)
    if has_tok:
        tokenizer = load_tokenizer(src)
    model.eval().requires_grad_(False).to(device)
    return model, tokenizer


def load_tokenizer(source: str | Path) -> Any:
    """``CLIPTokenizer.from_pretrained(source)``, checked to have a real vocabulary.

    Raises:
        ClipLoadError: no vocabulary (``vocab.json`` + ``merges.txt``) could be read.
    """
    transformers = require_transformers()
    try:
        tok = transformers.CLIPTokenizer.from_pretrained(str(source))
    except Exception as exc:
        raise ClipLoadError(f"cannot load a CLIP tokenizer from {str(source)!r}: {_first_line(exc)}") from None
    if len(tok) < 1000 or tok.convert_tokens_to_ids("photo</w>") == tok.unk_token_id:
        raise ClipLoadError(f"the CLIP tokenizer in {str(source)!r} has no vocabulary ({len(tok)} tokens); "
                            "it needs vocab.json and merges.txt")
    return tok


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _pooled(out: Any) -> Tensor:
    """transformers 4 returns a tensor from ``get_*_features``; 5 returns an output with ``pooler_output``."""
    return out if isinstance(out, Tensor) else out.pooler_output


class ClipGuide(nn.Module):
    """A frozen CLIP model used as a differentiable image/text embedder.

    Args:
        model: a transformers ``CLIPModel``.
        tokenizer: its ``CLIPTokenizer`` (needed for text only).
        source: where it came from (recorded in metadata and cache keys).
    """

    def __init__(self, model: nn.Module, tokenizer: Any | None = None, source: str = "") -> None:
        super().__init__()
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.source = source
        self.image_size = int(model.config.vision_config.image_size)
        self.dim = int(model.config.projection_dim)

    @classmethod
    def from_pretrained(cls, source: str | Path, device: str | torch.device = "cpu") -> ClipGuide:
        """Load with :func:`load_clip`."""
        model, tok = load_clip(source, device)
        return cls(model, tok, str(source))

    def train(self, mode: bool = True) -> ClipGuide:  # CLIP stays frozen in eval mode
        return super().train(False)

    # ---------------------------------------------------------------- images
    def encode_image(self, images: Tensor) -> Tensor:
        """Image embeddings :math:`(B, D)` (not normalised) of :math:`(B, 3, H, W)` RGB in [0, 1]."""
        pixels = clip_preprocess(images, self.image_size)
        return _pooled(self.model.get_image_features(pixel_values=pixels))

    forward = encode_image

    def feature_maps(self, images: Tensor, n: int = 5) -> list[Tensor]:
        """``n`` hidden states of the vision tower spread over its depth, for an identity loss."""
        pixels = clip_preprocess(images, self.image_size)
        out = self.model.vision_model(pixel_values=pixels, output_hidden_states=True)
        hs = out.hidden_states
        idx = torch.linspace(0, len(hs) - 1, n).round().long().tolist()
        return [hs[i] for i in idx]

    # ---------------------------------------------------------------- text
    def _require_tokenizer(self) -> Any:
        if self.tokenizer is None:
            raise ClipLoadError(f"the CLIP model {self.source!r} came without a tokenizer; text guidance needs one")
        return self.tokenizer

    def tokenize(self, texts: list[str]) -> Tensor:
        """Token ids :math:`(N, S)`, padded to the longest text."""
        tok = self._require_tokenizer()
        return tok(texts, padding=True, return_tensors="pt")["input_ids"].to(self.token_embedding.weight.device)

    @property
    def token_embedding(self) -> nn.Embedding:
        return self.model.text_model.embeddings.token_embedding

    def end_positions(self, ids: Tensor) -> Tensor:
        """Index of the end-of-text token of each row of ``ids`` :math:`(N, S)` → :math:`(N,)`."""
        eos = self.model.config.text_config.eos_token_id
        if eos == 2:  # legacy configs: the end token has the highest id
            return ids.argmax(dim=-1)
        return (ids == eos).int().argmax(dim=-1)

    def encode_text(self, texts: list[str]) -> Tensor:
        """Text embeddings :math:`(N, D)` of strings (through ``get_text_features``)."""
        ids = self.tokenize(texts)
        return _pooled(self.model.get_text_features(input_ids=ids))

    def encode_text_embeddings(self, token_embeds: Tensor, end_positions: Tensor) -> Tensor:
        """Text embeddings :math:`(N, D)` from token embeddings :math:`(N, S, W)` (learned prompts).

        embeddings + positions → causal mask → encoder → final layer norm → pooling at
        ``end_positions`` :math:`(N,)` → text projection.
        """
        text = self.model.text_model
        hidden = text.embeddings(inputs_embeds=token_embeds)
        n, s = hidden.shape[:2]
        mask = torch.full((s, s), torch.finfo(hidden.dtype).min, device=hidden.device, dtype=hidden.dtype)
        mask = torch.triu(mask, diagonal=1).view(1, 1, s, s).expand(n, 1, s, s)
        if "causal_attention_mask" in inspect.signature(text.encoder.forward).parameters:  # transformers 4
            enc = text.encoder(inputs_embeds=hidden, attention_mask=None, causal_attention_mask=mask)
        else:
            enc = text.encoder(inputs_embeds=hidden, attention_mask=mask)
        last = enc[0] if isinstance(enc, tuple) else enc.last_hidden_state
        last = text.final_layer_norm(last)
        pooled = last[torch.arange(n, device=last.device), end_positions.to(last.device)]
        return self.model.text_projection(pooled)

    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale.exp())
