"""The sample class: submissions built from ``source/`` for every assignment.

- ``reference``: the release notebook with every answer cell filled from source/ (the
  reference answers, as a student would type them);
- ``blank``: the release notebook untouched;
- ``mutant-K``: the reference with the K-th plausible wrong answer of every exercise put
  in at once (mutants live in ``source/<assignment>/mutants.py``, one ``# %% [mutant
  CELL] what it gets wrong`` block each);
- ``alternative-K``: the reference with the K-th other correct answer of every exercise
  put in at once (``source/<assignment>/alternatives.py``, one ``# %% [alternative CELL]
  how it differs`` block each).

- ``reference-zh_CN``, ``mutant-1-zh_CN``: the same answers in the Chinese notebook
  (``translated/zh_CN/release``), which must earn what the English ones earn, cell by cell.

``autograders.proof`` proves the tests with them, ``python -m autograders grade`` grades
them as its demo class, and the benchmarks and tests build their classes from them.
"""
import re
from dataclasses import dataclass

import nbformat

from autograders import RELEASE, SOURCE
from autograders.i18n import LANGUAGES, TRANSLATED

BLOCK = re.compile(r"^# %% \[(?P<kind>mutant|alternative) (?P<cell>[\w.-]+)\]\s*(?P<what>.*)$")
SOLUTION_LINE = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


@dataclass
class Mutant:
    """One answer put in place of an answer cell: wrong (a mutant) or right (an
    alternative)."""
    cell_id: str     # the answer cell it replaces
    description: str
    source: str


def load_answers(assignment_id, kind):
    """The ``kind`` blocks (``mutant`` or ``alternative``) of an assignment, from
    ``source/<assignment>/<kind>s.py``: ``{answer cell id: [Mutant, ...]}``, in file order."""
    path = SOURCE / assignment_id / f"{kind}s.py"
    found = {}
    if not path.exists():
        return found
    current = None
    for line in path.read_text().splitlines() + [f"# %% [{kind} END]"]:
        match = BLOCK.match(line)
        if match and match["kind"] != kind:
            raise ValueError(f"{path}: a '{match['kind']}' block in {kind}s.py: {line}")
        if match:
            if current:
                current.source = current.source.strip("\n") + "\n"
                found.setdefault(current.cell_id, []).append(current)
            current = Mutant(match["cell"], match["what"], "")
        elif current:
            current.source += line + "\n"
    return found


def load_mutants(assignment_id):
    """The mutants of an assignment: ``{answer cell id: [Mutant, ...]}``, in file order."""
    return load_answers(assignment_id, "mutant")


def load_alternatives(assignment_id):
    """The other correct answers of an assignment: ``{answer cell id: [Mutant, ...]}``."""
    return load_answers(assignment_id, "alternative")


def answer_text(source_cell_text):
    """What a student would have typed: the solution without its delimiter lines."""
    return "\n".join(line for line in source_cell_text.splitlines()
                     if not SOLUTION_LINE.match(line))


def reference_answers(source_nb):
    """``{answer cell id: the reference answer as a student would type it}``."""
    return {c.metadata.nbgrader["grade_id"]: answer_text(c.source) for c in source_nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def reference_answer(assignment_id, cell_id):
    """What a student who solved exercise ``cell_id`` types into its answer cell."""
    for path in sorted((SOURCE / assignment_id).glob("*.ipynb")):
        answers = reference_answers(nbformat.read(path, as_version=4))
        if cell_id in answers:
            return answers[cell_id]
    raise KeyError(f"{assignment_id} has no answer cell {cell_id}")


def filled(release_nb, answers):
    """A copy of the release notebook whose answer cells hold ``answers[cell id]``."""
    nb = nbformat.from_dict(release_nb)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def _plans(blocks, ids_here, each):
    """Which blocks go into which notebook: the K-th of every exercise together, or (each)
    every block in a notebook of its own."""
    if each:
        return [{cid: m} for cid in ids_here for m in blocks[cid]]
    rounds = max((len(blocks[cid]) for cid in ids_here), default=0)
    return [{cid: blocks[cid][k] for cid in ids_here if k < len(blocks[cid])}
            for k in range(rounds)]


def submissions(assignment_id, each=False):
    """The notebooks to grade: ``{student id: {notebook file name: notebook}}``; each
    mutant and alternative student also has ``"__plan__"``: ``{answer cell id: Mutant}``."""
    kinds = {"mutant": load_mutants(assignment_id),
             "alternative": load_alternatives(assignment_id)}
    result = {"reference": {}, "blank": {}}
    for src_path in sorted((SOURCE / assignment_id).glob("*.ipynb")):
        source_nb = nbformat.read(src_path, as_version=4)
        release_nb = nbformat.read(RELEASE / assignment_id / src_path.name, as_version=4)
        reference = reference_answers(source_nb)
        result["reference"][src_path.name] = filled(release_nb, reference)
        result["blank"][src_path.name] = release_nb
        for kind, blocks in kinds.items():
            ids_here = [cid for cid in blocks if cid in reference]
            for k, plan in enumerate(_plans(blocks, ids_here, each), start=1):
                answers = dict(reference, **{cid: m.source for cid, m in plan.items()})
                student = result.setdefault(f"{kind}-{k}", {})
                student[src_path.name] = filled(release_nb, answers)
                student.setdefault("__plan__", {}).update(plan)
        for lang in LANGUAGES:
            path = TRANSLATED / lang / "release" / assignment_id / src_path.name
            if path.exists():
                _add_translated(result, lang, src_path.name,
                                nbformat.read(path, as_version=4), reference)
    return result


def _add_translated(result, lang, name, translated_nb, reference):
    """``reference-LANG`` and ``mutant-1-LANG``: the answers of ``reference`` and
    ``mutant-1`` in the translated notebook; they must earn the same, cell by cell."""
    for base in ("reference", "mutant-1"):
        if base in result:
            plan = result[base].get("__plan__", {})
            answers = dict(reference, **{cid: m.source for cid, m in plan.items()})
            student = result.setdefault(f"{base}-{lang}", {})
            student[name] = filled(translated_nb, answers)
            if plan:
                student["__plan__"] = dict(plan)
