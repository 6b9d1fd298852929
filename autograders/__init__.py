"""Instructor tooling for nn-course, built on nbgrader: release, mutants, grade, bundle."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "source"
RELEASE = ROOT / "release"
NOTEBOOKS = ROOT / "notebooks"


def assignments():
    """Assignment ids, in course order: the folders of source/ that hold a notebook."""
    return sorted(p.name for p in SOURCE.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
