"""What a grading run leaves for people to read, in a form two runs can be compared in:
grades.csv, the record gradebook's contents and the feedback pages' content.

``tests/test_grading_same.py`` grades the sample class of two assignments and compares
what it gives with ``tests/snapshots/grading_record.json``, written by the grader as it
was before the speed work (and rewritten only on purpose:
``NNCOURSE_UPDATE_SNAPSHOTS=1 pytest tests/test_grading_same.py``).

What varies from run to run is left out: database ids (random), timestamps written at
grading time, and the feedback page's markup and styles (its content is compared: every
word a student reads, every image and every link, in order). What varies from machine to
machine too: the rounding error that a check reports of a match ("matches (largest
difference 9.5e-07)"), which depends on the CPU's vector instructions that torch uses;
below ``ROUNDING`` it reads as 0.
"""
import csv
import hashlib
import re
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "snapshots" / "grading_record.json"
ASSIGNMENTS = ["ch01_module", "ch02_convolution"]
ROUNDING = 1e-4
MATCH_ERROR = re.compile(r"(matches \(largest difference )([0-9.e+-]+)\)")


def _num(value):
    return None if value is None else round(float(value), 6)


def _digest(text):
    return hashlib.sha256((text or "").encode()).hexdigest()[:16]


def gradebook_contents(db_path):
    """Every assignment, cell, student, submission, grade and comment of the gradebook,
    keyed by names (nbgrader's ids are random)."""
    from nbgrader.api import Gradebook

    found = {"assignments": {}, "students": [], "submissions": {}}
    with Gradebook(f"sqlite:///{Path(db_path).resolve()}") as gb:
        for assignment in sorted(gb.assignments, key=lambda a: a.name):
            notebooks = {}
            for nb in sorted(assignment.notebooks, key=lambda n: n.name):
                notebooks[nb.name] = {
                    "grade_cells": sorted([c.name, c.cell_type, _num(c.max_score)]
                                          for c in nb.grade_cells),
                    "solution_cells": sorted(c.name for c in nb.solution_cells),
                    "task_cells": sorted([c.name, _num(c.max_score)] for c in nb.task_cells),
                    "source_cells": sorted([c.name, c.cell_type, bool(c.locked), c.checksum,
                                            _digest(c.source)] for c in nb.source_cells)}
            found["assignments"][assignment.name] = {
                "duedate": str(assignment.duedate), "max_score": _num(assignment.max_score),
                "notebooks": notebooks}
        found["students"] = sorted(s.id for s in gb.students)
        for assignment in sorted(gb.assignments, key=lambda a: a.name):
            for sub in sorted(assignment.submissions, key=lambda s: s.student.id):
                notebooks = {}
                for nb in sorted(sub.notebooks, key=lambda n: n.name):
                    notebooks[nb.name] = {
                        "flagged": bool(nb.flagged),
                        "grades": sorted([g.name, _num(g.auto_score), _num(g.manual_score),
                                          _num(g.extra_credit), bool(g.needs_manual_grade),
                                          _num(g.max_score)] for g in nb.grades),
                        "comments": sorted([c.name, c.auto_comment, c.manual_comment]
                                           for c in nb.comments)}
                found["submissions"][f"{assignment.name}/{sub.student.id}"] = {
                    "score": _num(sub.score), "max_score": _num(sub.max_score),
                    "late_penalty": _num(sub.late_submission_penalty),
                    "code_score": _num(sub.code_score),
                    "written_score": _num(sub.written_score),
                    "seconds_late": _num(sub.total_seconds_late),
                    "needs_manual_grade": bool(sub.needs_manual_grade),
                    "notebooks": notebooks}
    return found


def without_rounding(text):
    """``text`` with the rounding errors of matches below ``ROUNDING`` read as 0."""
    def zero(found):
        small = float(found.group(2)) < ROUNDING
        return found.group(1) + ("0" if small else found.group(2)) + ")"
    return MATCH_ERROR.sub(zero, text)


def feedback_contents(html):
    """What a student reads on a feedback page: its words (whitespace collapsed), its
    images and its links, in document order; not its styles or scripts."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, features="html.parser")
    for tag in soup(["style", "script"]):
        tag.decompose()
    words = re.sub(r"\s+", " ", soup.get_text(" ")).strip()
    return {"title": soup.title.get_text().strip() if soup.title else None,
            "text": without_rounding(words),
            "images": [img.get("src", "") for img in soup.find_all("img")],
            "links": [a.get("href") for a in soup.find_all("a") if a.get("href")]}


def grading_record(out):
    """grades.csv (its rows, the timing-free columns), the gradebook and every feedback
    page of the output folder ``out``."""
    out = Path(out)
    with open(out / "grades.csv", newline="") as f:
        rows = [list(row) for row in csv.reader(f)]
    feedback = {str(path.relative_to(out)): feedback_contents(path.read_text())
                for path in sorted(out.glob("feedback/*/*/*.html"))}
    return {"grades.csv": rows, "gradebook": gradebook_contents(out / "gradebook.db"),
            "feedback": feedback}
