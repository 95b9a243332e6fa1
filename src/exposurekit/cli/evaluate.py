"""``exposurekit evaluate``: score methods on a dataset spec, write per-image and mean scores (JSON + markdown)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from exposurekit.cli.app import app


@app.command("evaluate")
def evaluate_command(
    method: str = typer.Option(..., "--method", "-m", help="method name, or several separated by commas"),
    dataset: str = typer.Option(..., "--dataset", "-d",
                                help="dataset spec: msec:DIR, sice:DIR, lol:DIR, baid:DIR, pairs:DIR, folder:DIR, "
                                     "brackets:DIR, shared:{heldout,dicm,lime,mefb-over,mefb-under,backlit,...}"),
    size: str = typer.Option("native", "--size", help="native | 256 (square, UEC protocol) | long:N"),
    space: str = typer.Option("rgb", "--space", help="rgb | y (BT.601 luma) for PSNR/SSIM"),
    edge_weights: Path = typer.Option(None, "--edge-weights",
                                      help="PiDiNet or TEED checkpoint: edge F1 from that network instead of Canny"),
    weights: Path = typer.Option(None, "--weights", "-w", help="weights of a learned method (one method only)"),
    output: Path = typer.Option(None, "-o", "--output", help="JSON file of per-image and mean scores"),
    markdown: Path = typer.Option(None, "--markdown", help="markdown table file (default: JSON path with .md)"),
    save_dir: Path = typer.Option(None, "--save-dir", help="also write the corrected images here"),
    limit: int = typer.Option(None, "--limit", help="only the first N images / brackets"),
    niqe: bool = typer.Option(True, "--niqe/--no-niqe", help="compute NIQE (slow on large images)"),
    device: str = typer.Option("cpu", "--device"),
    threads: int = typer.Option(0, "--threads", help="torch CPU threads (0: leave the default)"),
) -> None:
    """Evaluate method(s): PSNR, SSIM, ΔE2000, edge F1 with targets; luminance, clipping, colourfulness, NIQE without."""
    import torch

    from exposurekit.evaluate import evaluate_spec, write_json
    from exposurekit.evaluate.report import markdown_table
    from exposurekit.methods import load_method

    con = Console(stderr=True)
    if threads:
        torch.set_num_threads(threads)
    if space not in ("rgb", "y"):
        raise typer.BadParameter(f"--space must be rgb or y, got {space!r}")
    names = [m.strip() for m in method.split(",") if m.strip()]
    if weights is not None and len(names) != 1:
        raise typer.BadParameter("--weights needs exactly one method")
    detector = None
    if edge_weights is not None:
        from exposurekit.metrics.edges import load_edge_detector

        detector = load_edge_detector(edge_weights, device=device)
    results = []
    for name in names:
        try:
            m = load_method(name, weights=weights, device=device)
        except KeyError as exc:
            con.print(f"[red]{exc.args[0]}[/red]")
            raise typer.Exit(2) from None
        con.print(f"evaluating [bold]{name}[/bold] on {dataset} (size {size}, space {space})")
        kwargs = {"save_dir": save_dir / name} if save_dir and not dataset.startswith(("brackets:", "shared:heldout")) \
            else {}
        res = evaluate_spec(m, dataset, size=size, space=space, edge_detector=detector, with_niqe=niqe,
                            limit=limit, device=device, **kwargs)
        results.append(res)
    md = results_markdown(results, dataset)
    table = Table(title=f"{dataset} ({size}, {space})")
    lines = [ln for ln in md.splitlines() if ln.startswith("|") and not ln.startswith("|---")]
    if lines:
        for h in lines[0].strip("|").split("|"):
            table.add_column(h.strip())
        for ln in lines[1:]:
            table.add_row(*[c.strip() for c in ln.strip("|").split("|")])
        Console().print(table)
    if output is not None:
        write_json(output, results if len(results) > 1 else results[0])
        con.print(f"wrote {output}")
    md_path = markdown or (output.with_suffix(".md") if output is not None else None)
    if md_path is not None:
        md_path.parent.mkdir(parents=True, exist_ok=True)
        per_image = [markdown_table([{"method": r["method"], **row} for row in r["rows"]],
                                    _keys(r), label="name") for r in results if r.get("kind") != "brackets"]
        md_path.write_text(md + "\n" + "\n\n".join(per_image) + "\n")
        con.print(f"wrote {md_path}")


def _keys(res: dict) -> list[str]:
    from exposurekit.evaluate.runner import NOREF_KEYS, REF_KEYS

    if res.get("kind") == "brackets":
        return ["psnr", "ssim", "delta_e", "edge_f1"]
    has_ref = any("psnr" in r for r in res["rows"])
    return [*(REF_KEYS if has_ref else ()), *NOREF_KEYS]


def results_markdown(results: list[dict], dataset: str) -> str:
    """Mean table (one row per method + the unchanged input) for results of one dataset."""
    from exposurekit.evaluate import brackets_markdown
    from exposurekit.evaluate.report import markdown_table

    if not results:
        return ""
    if results[0].get("kind") == "brackets":
        md = brackets_markdown(results, "all")
        if "edge_f1" in results[0]["mean"]:
            md += f"\n\nedge F1 ({results[0].get('edge_detector')}):\n\n" + brackets_markdown(results, "edge_f1")
        return md
    keys = _keys(results[0])
    rows = [{"method": "input (no correction)", **results[0]["input_mean"]}]
    rows += [{"method": r["method"], **r["mean"], "ms": r.get("ms_per_image")} for r in results]
    out = markdown_table(rows, [*keys, "ms"]) + f"\n\n{results[0]['mean']['n']} images of `{dataset}`."
    if results[0].get("by_group"):
        for g in results[0]["by_group"]:
            grows = [{"method": r["method"], **r["by_group"][g]} for r in results if g in r["by_group"]]
            out += f"\n\ngroup {g}:\n\n" + markdown_table(grows, keys)
    return out
