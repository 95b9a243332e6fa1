"""Merge held-out bracket results (JSON from benchmarks/heldout_brackets.py) into one table.

    .venv/bin/python benchmarks/simr_table.py runs/simr/heldout_simr.json runs/simr/heldout_baselines.json
"""

from __future__ import annotations

import json
import sys

from exposurekit.evaluate import brackets_markdown


def main() -> None:
    results = []
    for path in sys.argv[1:]:
        data = json.loads(open(path).read())
        results.extend(data if isinstance(data, list) else data.get("results", [data]))
    print(brackets_markdown(results, metric="all"))


if __name__ == "__main__":
    main()
