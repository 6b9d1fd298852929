"""Grading made faster gives what it gave before: the same grades.csv, the same record
gradebook and the same feedback content, on the sample class of two assignments
(reference, blank, mutants and alternatives, English and Chinese).

The expected record (``tests/snapshots/grading_record.json``) was written by the grader
before the speed work; ``tests/grading_record.py`` says what is compared.
"""
import json
import os
import subprocess
import sys

import pytest

from autograders import ROOT
from autograders.collect import sample_class
from grading_record import ASSIGNMENTS, SNAPSHOT, grading_record, without_rounding


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    submitted = tmp_path_factory.mktemp("sample") / "submitted"
    for aid in ASSIGNMENTS:
        sample_class(submitted, aid)
    out = tmp_path_factory.mktemp("graded")
    proc = subprocess.run([sys.executable, "-m", "autograders", "grade", str(submitted),
                           "--out", str(out), "--workers", "2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, PYTHONWARNINGS="ignore"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    record = grading_record(out)
    if os.environ.get("NNCOURSE_UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(record, indent=1, ensure_ascii=False,
                                       sort_keys=True) + "\n", encoding="utf-8")
    return record


@pytest.fixture(scope="module")
def expected():
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def test_the_class_is_the_sample_class_of_two_assignments(graded):
    students = {row[0] for row in graded["grades.csv"][1:]}
    assert {"reference", "blank", "mutant-1", "reference-zh_CN"} <= students
    assert {row[1] for row in graded["grades.csv"][1:]} == set(ASSIGNMENTS)
    assert len(graded["feedback"]) == len(graded["grades.csv"]) - 1


def test_same_grades(graded, expected):
    assert graded["grades.csv"] == expected["grades.csv"]


def test_same_gradebook(graded, expected):
    for part in ("assignments", "students", "submissions"):
        assert graded["gradebook"][part] == expected["gradebook"][part], part


def test_same_feedback_content(graded, expected):
    assert sorted(graded["feedback"]) == sorted(expected["feedback"])
    for page, content in expected["feedback"].items():
        content = dict(content, text=without_rounding(content["text"]))
        assert graded["feedback"][page] == content, page
