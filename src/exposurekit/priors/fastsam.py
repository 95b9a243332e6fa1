"""FastSAM prior: a FastSAM ONNX export run with onnxruntime (``pip install exposurekit[onnx]``).

I/O of the export (YOLOv8-seg layout): input ``images`` ``[1, 3, S, S]`` (S = 1024 for the usual
export; read from the model when static), RGB in [0, 1], letterboxed (aspect kept, centred, padded
with 114/255); outputs ``output0`` ``[1, 4 + 1 + 32, A]`` (box centre x, y, width, height in input
pixels, score, 32 mask coefficients per anchor) and ``output1`` ``[1, 32, S/4, S/4]`` (mask prototypes).

Features: the 32 prototypes, cropped to the un-padded area. Masks: detections above ``conf`` kept by
our own non-maximum suppression (IoU ``iou``), each mask = sigmoid(coefficients · prototypes) > 0.5
inside its box, painted largest first so that small objects stay on top; label 0 = no mask.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from exposurekit.priors.base import PriorError, SemanticPrior

__all__ = ["FastSAMPrior", "decode_masks", "export_random_fastsam", "letterbox", "nms"]

INPUT_NAME = "images"
OUTPUT_NAMES = ("output0", "output1")
PAD_VALUE = 114 / 255


def letterbox(image: Tensor, size: int) -> tuple[Tensor, float, tuple[int, int], tuple[int, int]]:
    """Resize :math:`(1, 3, H, W)` keeping the aspect so the long side is ``size``; pad centred.

    Returns:
        ``(padded (1, 3, size, size), scale, (top, left), (new_h, new_w))``.
    """
    h, w = image.shape[-2:]
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    resized = F.interpolate(image, size=(nh, nw), mode="bilinear", align_corners=False, antialias=scale < 1)
    top, left = (size - nh) // 2, (size - nw) // 2
    out = torch.full((1, 3, size, size), PAD_VALUE, dtype=image.dtype)
    out[:, :, top:top + nh, left:left + nw] = resized
    return out, scale, (top, left), (nh, nw)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Greedy non-maximum suppression.

    Args:
        boxes: :math:`(M, 4)` as x1, y1, x2, y2.
        scores: :math:`(M,)`.
        iou: boxes overlapping a kept box more than this are dropped.

    Returns:
        Indices of the kept boxes, best first.
    """
    order = np.argsort(-scores, kind="stable")
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        xx1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        union = areas[i] + areas[rest] - inter
        ov = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
        order = rest[ov <= iou]
    return keep


def decode_masks(output0: np.ndarray, output1: np.ndarray, conf: float = 0.25, iou: float = 0.7,
                 max_det: int = 32, input_size: int | None = None) -> np.ndarray:
    """Region labels from FastSAM's raw outputs, at the prototype resolution.

    Args:
        output0: :math:`(1, 37, A)` detections.
        output1: :math:`(1, 32, P, P)` prototypes.
        conf: score threshold.
        iou: NMS overlap threshold.
        max_det: most masks kept.
        input_size: side of the network input (boxes are in its pixels); default ``4·P``.

    Returns:
        :math:`(P, P)` int64 labels; 0 where no mask, ``1…K`` for the kept masks.
    """
    det = output0[0].T  # (A, 37)
    protos = output1[0]  # (32, P, P)
    p = protos.shape[-1]
    size = input_size or 4 * p
    labels = np.zeros((p, p), dtype=np.int64)
    keep_mask = det[:, 4] > conf
    det = det[keep_mask]
    if not len(det):
        return labels
    cx, cy, bw, bh = det[:, 0], det[:, 1], det[:, 2], det[:, 3]
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1)
    keep = nms(boxes, det[:, 4], iou)[:max_det]
    coef = det[keep, 5:5 + protos.shape[0]]
    logits = coef @ protos.reshape(protos.shape[0], -1)  # (K, P*P)
    masks = (logits > 0).reshape(-1, p, p)  # sigmoid > 0.5
    s = p / size
    yy, xx = np.mgrid[0:p, 0:p] + 0.5
    for j, i in enumerate(keep):
        x1, y1, x2, y2 = boxes[i] * s
        masks[j] &= (xx >= x1) & (xx <= x2) & (yy >= y1) & (yy <= y2)
    order = np.argsort(-masks.reshape(len(keep), -1).sum(1), kind="stable")  # largest first
    for rank, j in enumerate(order):
        labels[masks[j]] = rank + 1
    return labels


class FastSAMPrior(SemanticPrior):
    """Semantic features and masks from a FastSAM ONNX export.

    Args:
        model_path: the ``.onnx`` file.
        conf: detection score threshold.
        iou: NMS IoU threshold.
        max_det: most masks per image.
        threads: onnxruntime intra-op threads (``None``: its default).

    Raises:
        PriorError: onnxruntime missing, or the file missing / not a FastSAM-style export.
    """

    name = "fastsam"
    channels = 32

    def __init__(self, model_path: str | Path, conf: float = 0.25, iou: float = 0.7, max_det: int = 32,
                 threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise PriorError("the FastSAM prior needs onnxruntime: pip install exposurekit[onnx]") from exc
        path = Path(model_path)
        if not path.is_file():
            raise PriorError(f"FastSAM ONNX model not found: {path} (expected an export with input 'images' "
                             "[1,3,1024,1024] and outputs 'output0', 'output1')")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise PriorError(f"{path}: not a loadable ONNX model ({str(exc).splitlines()[0][:200]})") from exc
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = [o.name for o in self.session.get_outputs()]
        if INPUT_NAME not in inputs or any(n not in outputs for n in OUTPUT_NAMES):
            raise PriorError(f"{path}: not a FastSAM export (inputs {list(inputs)}, outputs {outputs}; expected "
                             f"input 'images' and outputs 'output0', 'output1')")
        shape = inputs[INPUT_NAME].shape
        self.input_size = shape[-1] if isinstance(shape[-1], int) else 1024
        self.conf, self.iou, self.max_det = conf, iou, max_det

    def extract(self, images: Tensor) -> tuple[Tensor, Tensor]:
        h, w = images.shape[-2:]
        feats, masks = [], []
        for im in images.detach().float().cpu().clamp(0, 1):
            x, scale, (top, left), (nh, nw) = letterbox(im[None], self.input_size)
            out0, out1 = self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: x.numpy()})
            p = out1.shape[-1]
            r = p / self.input_size
            t0, l0 = int(np.floor(top * r)), int(np.floor(left * r))
            t1, l1 = max(t0 + 1, int(np.ceil((top + nh) * r))), max(l0 + 1, int(np.ceil((left + nw) * r)))
            proto = torch.from_numpy(np.ascontiguousarray(out1[0, :, t0:t1, l0:l1]))
            feats.append(F.interpolate(proto[None], size=(max(1, round(h * p / max(h, w))),
                                                          max(1, round(w * p / max(h, w)))),
                                       mode="bilinear", align_corners=False)[0])
            lab = decode_masks(out0, out1, self.conf, self.iou, self.max_det, self.input_size)[t0:t1, l0:l1]
            lab = torch.from_numpy(lab)[None, None].float()
            masks.append(F.interpolate(lab, size=(h, w), mode="nearest")[0, 0].long())
        return torch.stack(feats).to(images.device), torch.stack(masks).to(images.device)


def export_random_fastsam(path: str | Path, size: int = 1024, seed: int = 0) -> Path:
    """Write a tiny *random* ONNX model with FastSAM's input/output names and shapes (for tests and demos).

    ``images [1,3,S,S]`` → 4×4 average pool → 1×1 conv → ``output1 [1,32,S/4,S/4]``; 32×32 average
    pool → 1×1 conv → ``output0 [1,37,(S/32)²]``. It exercises the real loading and decoding path; its
    features carry no semantics. Needs the ``onnx`` package (``pip install exposurekit[onnx]``).
    """
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as exc:
        raise PriorError("writing an ONNX model needs onnx: pip install exposurekit[onnx]") from exc
    rng = np.random.default_rng(seed)
    a = (size // 32) ** 2
    inits = [
        numpy_helper.from_array(rng.normal(0, 1, (32, 3, 1, 1)).astype(np.float32), "w_proto"),
        numpy_helper.from_array(rng.normal(0, 1, (37, 3, 1, 1)).astype(np.float32), "w_det"),
        numpy_helper.from_array((np.abs(rng.normal(0, 1, 37)) * size / 5).astype(np.float32), "b_det"),
        numpy_helper.from_array(np.array([1, 37, a], dtype=np.int64), "shape0"),
    ]
    nodes = [
        helper.make_node("AveragePool", ["images"], ["p4"], kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("Conv", ["p4", "w_proto"], ["output1"]),
        helper.make_node("AveragePool", ["images"], ["p32"], kernel_shape=[32, 32], strides=[32, 32]),
        helper.make_node("Conv", ["p32", "w_det", "b_det"], ["d"]),
        helper.make_node("Reshape", ["d", "shape0"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes, "random_fastsam",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 37, a]),
         helper.make_tensor_value_info("output1", TensorProto.FLOAT, [1, 32, size // 4, size // 4])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
