"""Time every notebook (lessons and solution notebooks) beside the floor.

The floor is a kernel that only imports torch and torchvision: every notebook pays it, so a
notebook's own cost is its time minus the floor. Notebooks run one after another, so the
figures are comparable within one run; run it on a quiet machine.

    .venv/bin/python benchmarks/notebooks.py [--repeat 3] [PATHS...]
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograders.execute import execute  # noqa: E402


def floor_seconds():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import torch, torchvision")])
    start = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook (median)")
    args = parser.parse_args(argv)
    paths = [Path(p) for p in args.paths] or (sorted(ROOT.glob("notebooks/*.ipynb"))
                                              + sorted(ROOT.glob("source/*/*.ipynb")))
    floor_seconds()  # warm-up, discarded: the first kernel of a run reads torch from disk
    floor = statistics.median(floor_seconds() for _ in range(max(args.repeat, 1)))
    print(f"{'notebook':<52}{'seconds':>9}{'over floor':>12}")
    print(f"{'floor (kernel importing torch, torchvision)':<52}{floor:>9.1f}{'':>12}")
    total = 0.0
    for path in paths:
        seconds = statistics.median(execute(path)[1] for _ in range(max(args.repeat, 1)))
        total += seconds
        name = str(path.relative_to(ROOT)) if path.is_absolute() else str(path)
        print(f"{name:<52}{seconds:>9.1f}{seconds - floor:>12.1f}", flush=True)
    print(f"{'total (' + str(len(paths)) + ' notebooks)':<52}{total:>9.1f}"
          f"{total - floor * len(paths):>12.1f}")


if __name__ == "__main__":
    main()
