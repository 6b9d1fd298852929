"""Re-execute lesson notebooks in place, so their stored outputs are the current ones."""
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograders import NOTEBOOKS


def execute(path, timeout=300, kernel_name="python3"):
    """Run every cell of the notebook at ``path`` in its own folder; return seconds taken."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name=kernel_name,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb, time.perf_counter() - start


def execute_in_place(paths=None):
    paths = [Path(p) for p in (paths or sorted(NOTEBOOKS.glob("*.ipynb")))]
    for path in paths:
        nb, seconds = execute(path)
        nbformat.write(nb, path)
        print(f"{path}: executed in {seconds:.1f} s")
