"""Prove that every exercise's tests are fair both ways, through real ``nbgrader autograde``.

For each assignment four kinds of submission are graded:

- ``reference``: the release notebook with every answer cell filled from source/: it must
  earn full marks;
- ``alternative-K``: the reference with the K-th other correct answer of every exercise
  put in at once (``source/<assignment>/alternatives.py``): it must earn full marks too;
- ``blank``: the release notebook untouched: it must earn zero, without crashing;
- ``mutant-K``: the reference with the K-th plausible wrong answer of every exercise put
  in at once (mutants live in ``source/<assignment>/mutants.py``); every exercise that a
  mutant replaces must lose points;
- ``reference-zh_CN``, ``mutant-1-zh_CN``: the same answers in the Chinese notebook: they
  must earn exactly what they earn in English, cell by cell.

Putting the K-th block of every exercise into one notebook keeps the number of kernels
(and torch imports) small; it is sound because a test cell may only use its own answer
cell and the setup cell. ``--each`` grades every block in a notebook of its own instead.

Two engines run nbgrader's autograding on them. The default is the class grader
(``autograders.grade``): nbgrader's own Autograde converter in a worker process, on
kernels forked from one that has torch imported, so a notebook costs about a second
instead of a fresh kernel's import of torch. ``--stock`` runs the ``nbgrader autograde``
command itself, exactly as an instructor would; a test checks that both give the same
points for every exercise.
"""
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograders import SOURCE, assignments
from autograders.i18n import LANGUAGES
from autograders.nbgrader_cli import nbgrader, scratch_course
from autograders.sample import load_alternatives, load_mutants, submissions


@dataclass
class Exercise:
    solution_id: str
    test_ids: list   # the graded cells after the answer cell, up to the next answer cell
    points: float


@dataclass
class Proof:
    assignment: str
    exercises: list
    mutants: dict                                  # solution id -> [Mutant]
    alternatives: dict                             # solution id -> [Mutant] (correct)
    scores: dict = field(default_factory=dict)     # student -> {test id: score}
    plans: dict = field(default_factory=dict)      # student -> {solution id: Mutant}
    problems: list = field(default_factory=list)

    def earned(self, student, exercise):
        row = self.scores.get(student, {})
        return sum(row.get(t, 0.0) for t in exercise.test_ids)


def exercises_of(nb):
    """Pair each answer cell with the graded cells that follow it."""
    result = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and not meta.get("grade"):
            result.append(Exercise(meta["grade_id"], [], 0.0))
        elif meta.get("grade") and result:
            result[-1].test_ids.append(meta["grade_id"])
            result[-1].points += float(meta.get("points", 0))
    return result


def read_scores(course, assignment_id):
    """``{student: {grade cell id: score}}`` from the scratch course's gradebook."""
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}") as gb:
        assignment = gb.find_assignment(assignment_id)
        for submission in assignment.submissions:
            row = scores.setdefault(submission.student.id, {})
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    row[grade.name] = float(grade.score or 0.0)
    return scores


def grade_stock(assignment_id, subs, folder):
    """Grade the submissions with the ``nbgrader autograde`` command; return the scores."""
    course = scratch_course(folder, [assignment_id])
    nbgrader(["generate_assignment", assignment_id, "--force"], cwd=course)
    for student, notebooks in subs.items():
        student_folder = course / "submitted" / student / assignment_id
        student_folder.mkdir(parents=True)
        for name, nb in notebooks.items():
            nbformat.write(nb, student_folder / name)
    nbgrader(["autograde", assignment_id, "--force"], cwd=course)
    return read_scores(course, assignment_id)


def grade_fast(assignment_id, folder, workers=1):
    """Grade the assignment's sample class (the same submissions) with the class grader."""
    from autograders.grade import grade
    from autograders.settings import GradeSettings

    out = Path(folder) / "graded"
    grade(None, assignment_id, out, GradeSettings(workers=workers, quiet=True))
    return read_scores(out, assignment_id)


def prove(assignment_id, each=False, workdir=None, stock=False, workers=1):
    """Grade reference, alternatives, blank and mutants of one assignment; return a
    ``Proof``."""
    src = sorted((SOURCE / assignment_id).glob("*.ipynb"))
    exercises = [e for p in src for e in exercises_of(nbformat.read(p, as_version=4))]
    proof = Proof(assignment_id, exercises, load_mutants(assignment_id),
                  load_alternatives(assignment_id))
    subs = submissions(assignment_id, each)
    plans = {student: notebooks.pop("__plan__", {}) for student, notebooks in subs.items()}
    tmp = tempfile.mkdtemp(prefix=f"nncourse-proof-{assignment_id}-", dir=workdir)
    try:
        if stock or each:  # the sample class of the class grader has no --each form
            proof.scores = grade_stock(assignment_id, subs, tmp)
        else:
            proof.scores = grade_fast(assignment_id, tmp, workers)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    proof.plans = plans
    _judge(proof)
    return proof


def _judge(proof):
    for student in proof.scores:
        base, _, lang = student.rpartition("-")
        if lang in LANGUAGES and base in proof.scores:
            for ex in proof.exercises:
                here, there = proof.earned(student, ex), proof.earned(base, ex)
                if here != there:
                    proof.problems.append(f"{ex.solution_id}: {base} earns {there:g} in "
                                          f"English and {here:g} in {lang}")
    for ex in proof.exercises:
        if not ex.test_ids:
            proof.problems.append(f"{ex.solution_id}: no graded test cell follows it")
            continue
        ref, blank = proof.earned("reference", ex), proof.earned("blank", ex)
        if ref < ex.points:
            proof.problems.append(f"{ex.solution_id}: reference earns {ref:g}/{ex.points:g}")
        if blank > 0:
            proof.problems.append(f"{ex.solution_id}: blank earns {blank:g}/{ex.points:g}")
        if not proof.mutants.get(ex.solution_id):
            proof.problems.append(f"{ex.solution_id}: has no mutant")
        if not proof.alternatives.get(ex.solution_id):
            proof.problems.append(f"{ex.solution_id}: has no alternative")
        for student, plan in proof.plans.items():
            earned = proof.earned(student, ex)
            if student.startswith("mutant-"):
                if ex.solution_id in plan and earned >= ex.points:
                    proof.problems.append(
                        f"{ex.solution_id}: mutant '{plan[ex.solution_id].description}' "
                        f"earns full marks ({student})")
            elif student.startswith("alternative-") and earned < ex.points:
                # every exercise of an alternative's notebook: one exercise's other answer
                # must not cost marks anywhere
                what = (f"alternative '{plan[ex.solution_id].description}'"
                        if ex.solution_id in plan else "the reference (beside alternatives)")
                proof.problems.append(f"{ex.solution_id}: {what} earns "
                                      f"{earned:g}/{ex.points:g} ({student})")


def table(proof):
    """The per-exercise table: points earned by reference, blank, each alternative and
    each mutant."""
    lines = [f"{proof.assignment}",
             f"  {'exercise':<28}{'max':>5}{'ref':>6}{'blank':>7}  "
             "alternatives | mutants (points earned)"]
    for ex in proof.exercises:
        cells = {"alternative-": [], "mutant-": []}
        for student, plan in proof.plans.items():
            block = plan.get(ex.solution_id)
            if not block or student.rpartition("-")[2] in LANGUAGES:
                continue    # a translation's copy: compared with its original, in _judge
            kind = "mutant-" if student.startswith("mutant-") else "alternative-"
            earned = proof.earned(student, ex)
            if kind == "mutant-":
                mark = "caught" if earned < ex.points else "MISSED"
            else:
                mark = "full" if earned >= ex.points else "LOST"
            cells[kind].append(f"{earned:g} {mark}: {block.description}")
        lines.append(f"  {ex.solution_id:<28}{ex.points:>5g}"
                     f"{proof.earned('reference', ex):>6g}{proof.earned('blank', ex):>7g}  "
                     + ("; ".join(cells["alternative-"]) or "-") + " | "
                     + ("; ".join(cells["mutant-"]) or "-"))
    total = sum(e.points for e in proof.exercises)
    lines.append(f"  {'total':<28}{total:>5g}"
                 f"{sum(proof.earned('reference', e) for e in proof.exercises):>6g}"
                 f"{sum(proof.earned('blank', e) for e in proof.exercises):>7g}")
    translated = sorted({s.rpartition("-")[2] for s in proof.scores} & set(LANGUAGES))
    for lang in translated:
        differ = sum(p.endswith(f"in {lang}") for p in proof.problems)
        lines.append(f"  in {lang}: reference and mutant-1 earn what they earn in English, "
                     "cell by cell" if not differ else
                     f"  in {lang}: {differ} exercises earn otherwise than in English")
    lines += [f"  PROBLEM: {p}" for p in proof.problems]
    return "\n".join(lines)


def _prove_for_pool(args):
    aid, each, stock = args
    return prove(aid, each=each, stock=stock)


def main(assignment_ids=None, workers=2, each=False, stock=False):
    ids = list(assignment_ids or assignments())
    with ProcessPoolExecutor(max(1, min(workers, len(ids)))) as pool:
        proofs = list(pool.map(_prove_for_pool, [(aid, each, stock) for aid in ids]))
    for proof in proofs:
        print(table(proof), end="\n\n")
    bad = [p.assignment for p in proofs if p.problems]
    print("proof: " + (f"problems in {', '.join(bad)}" if bad else
                       f"all {len(proofs)} assignments proven both ways"))
    return 1 if bad else 0
