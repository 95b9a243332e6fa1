"""SAM prior: image embeddings of a transformers ``SamModel`` (``pip install exposurekit[clip]``).

``SamModel.from_pretrained(source)`` loads a hub id or a local folder (no download happens here: use
a local folder). Pre-processing is done in torch: long side resized to the model's ``image_size``,
ImageNet mean/std normalisation, zero padding at the bottom/right to a square (as SAM does). The
features are the image embeddings cropped to the un-padded area (``output_channels`` channels, 256
for the released models, at 1/16 of the input). SAM gives masks only from prompts, so the region masks
are a k-means clustering (cosine, ``regions`` clusters) of the embedding vectors.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from exposurekit.priors.base import PriorError, SemanticPrior

__all__ = ["SAMPrior", "kmeans_labels"]

SAM_MEAN = (0.485, 0.456, 0.406)
SAM_STD = (0.229, 0.224, 0.225)


def kmeans_labels(feats: Tensor, k: int, iters: int = 10) -> Tensor:
    """Spherical k-means of a feature map :math:`(C, h, w)`; returns labels :math:`(h, w)` int64.

    Deterministic: centres start at evenly spaced pixels (in raster order).
    """
    c, h, w = feats.shape
    x = F.normalize(feats.reshape(c, -1).t(), dim=1)  # (hw, C)
    k = max(1, min(k, x.shape[0]))
    centres = x[torch.linspace(0, x.shape[0] - 1, k).long()].clone()
    labels = torch.zeros(x.shape[0], dtype=torch.long)
    for _ in range(iters):
        labels = (x @ centres.t()).argmax(1)
        for j in range(k):
            sel = x[labels == j]
            if len(sel):
                centres[j] = F.normalize(sel.mean(0), dim=0)
    _, labels = torch.unique(labels, return_inverse=True)
    return labels.reshape(h, w)


class SAMPrior(SemanticPrior):
    """Semantic features from SAM image embeddings.

    Args:
        source: hub id or local folder for ``SamModel.from_pretrained``.
        regions: clusters used as region masks.
        device: torch device.

    Raises:
        PriorError: transformers missing, or the model cannot be loaded from ``source``.
    """

    name = "sam"

    def __init__(self, source: str | Path, regions: int = 8, device: str | torch.device = "cpu") -> None:
        try:
            from transformers import SamModel
        except ImportError as exc:
            raise PriorError("the SAM prior needs transformers: pip install exposurekit[clip]") from exc
        try:
            self.model = SamModel.from_pretrained(str(source)).to(device).eval()
        except Exception as exc:
            msg = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise PriorError(f"cannot load a SamModel from {source} (expected a folder with config.json and "
                             f"model weights): {msg}") from exc
        self.image_size = int(self.model.config.vision_config.image_size)
        self.channels = int(self.model.config.vision_config.output_channels)
        self.regions = regions
        self.device = torch.device(device)

    def extract(self, images: Tensor) -> tuple[Tensor, Tensor]:
        h, w = images.shape[-2:]
        s = self.image_size / max(h, w)
        nh, nw = max(1, round(h * s)), max(1, round(w * s))
        x = F.interpolate(images.float().clamp(0, 1), size=(nh, nw), mode="bilinear", align_corners=False,
                          antialias=s < 1)
        mean = torch.tensor(SAM_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(SAM_STD, device=x.device).view(1, 3, 1, 1)
        x = F.pad((x - mean) / std, (0, self.image_size - nw, 0, self.image_size - nh))
        with torch.no_grad():
            emb = self.model.get_image_embeddings(x.to(self.device)).float()  # (B, C, e, e)
        e = emb.shape[-1]
        eh, ew = max(1, round(nh * e / self.image_size)), max(1, round(nw * e / self.image_size))
        emb = emb[:, :, :eh, :ew].to(images.device)
        masks = []
        for f in emb:
            lab = kmeans_labels(f.cpu(), self.regions)[None, None].float()
            masks.append(F.interpolate(lab, size=(h, w), mode="nearest")[0, 0].long())
        return emb, torch.stack(masks).to(images.device)
