"""Loss-curve plots (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path


def plot_history(history: list[dict[str, float]], path: str | Path, title: str = "") -> Path:
    """Plot every scalar of ``history`` (one dict per epoch) against the epoch; one panel per key."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted({k for h in history for k in h if k != "epoch"})
    n = max(1, len(keys))
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        xs = [h.get("epoch", i) for i, h in enumerate(history) if key in h]
        ys = [h[key] for h in history if key in h]
        ax.plot(xs, ys, marker="o", ms=3)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
