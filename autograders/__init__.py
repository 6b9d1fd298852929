"""Instructor tooling for nn-course, built on nbgrader: release, prove, grade, bundle."""
import sys
from pathlib import Path

# jsonschema checks the "iri" format with rfc3987_syntax when it is installed, which
# builds a grammar when imported: 0.9 s of every grading process's start (nbformat imports
# jsonschema). No schema the grader checks (nbformat's, nbgrader's) has that format.
sys.modules.setdefault("rfc3987_syntax", None)

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "source"
RELEASE = ROOT / "release"
NOTEBOOKS = ROOT / "notebooks"
# Beside each source notebook: plausible wrong answers and other correct answers, which
# prove the tests (``autograders.proof``). Both hold answers: never for students.
PROOF_FILES = ("mutants.py", "alternatives.py")


def assignments():
    """Assignment ids, in course order: the folders of source/ that hold a notebook."""
    return sorted(p.name for p in SOURCE.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def extra_files(folder):
    """The files of an assignment's source folder that grading needs beside its
    notebooks: not the notebooks (they hold the solutions), nor the proof files."""
    return [p for p in sorted(Path(folder).rglob("*"))
            if p.is_file() and p.suffix != ".ipynb" and p.name not in PROOF_FILES]
