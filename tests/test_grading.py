"""`python -m autograders grade`: every case of the grading issue, on chapter 1.

The submissions are built here from the release notebook (and the reference answers of
source/): good, wrong and broken in every way the grader must survive. They are graded
together in one run (``batch``: two workers, short limits) so the suite stays quick; a
few smaller runs check repeatability, late submissions, LMS zips and the exit codes.
"""
import copy
import csv
import html as html_module
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograders import RELEASE, ROOT
from autograders.i18n import localise_feedback
from autograders.sample import submissions as sample_submissions
from notebook_cells import cell_index

AID = "ch01_module"
NB = f"{AID}.ipynb"
MAX = 12
GRADE_ARGS = ["--workers", "2", "--cell-timeout", "8", "--notebook-timeout", "30",
              "--memory", "1.5"]


# ----------------------------------------------------------------------------------------
# Building submissions


def release_nb():
    return nbformat.read(RELEASE / AID / NB, as_version=4)


def reference_nb():
    return copy.deepcopy(sample_submissions(AID)["reference"][NB])


def with_answer(grade_id, code, base=None, where="before"):
    """The reference with extra code before, after or instead of one answer."""
    nb = copy.deepcopy(base) if base is not None else reference_nb()
    cell = nb.cells[cell_index(nb, grade_id)]
    cell.source = {"before": code + "\n" + cell.source, "after": cell.source + "\n" + code,
                   "instead": code}[where]
    return nb


def write(folder, student, nb=None, name=NB, raw=None):
    path = Path(folder, student, AID)
    path.mkdir(parents=True, exist_ok=True)
    if raw is not None:
        (path / name).write_bytes(raw)
    elif nb is not None:
        nbformat.write(nb, path / name)
    return path


def build_class(folder):
    """The batch: ``{student: (expected status, expected score or None, flags)}``."""
    expected = {}

    def add(student, status, score, flags=(), **kw):
        write(folder, student, **kw)
        expected[student] = (status, score, set(flags))

    add("reference", "ok", MAX, nb=reference_nb())
    add("blank", "ok", 0, nb=release_nb())
    mutant = sample_submissions(AID)["mutant-1"][NB]
    add("mutant", "ok", None, nb=mutant)
    # the reference answers in the Chinese student copy
    add("chinese", "ok", MAX, nb=sample_submissions(AID)["reference-zh_CN"][NB])
    add("chinese-mutant", "ok", None, nb=sample_submissions(AID)["mutant-1-zh_CN"][NB])

    # bad input
    add("garbage", "unreadable", 0, raw=b"\x89PNG\r\n\x1a\n not a notebook at all")
    text = nbformat.writes(reference_nb())
    add("trailing-comma", "repaired", MAX, ["invalid-json"],
        raw=(text.rstrip()[:-1].rstrip() + ",\n}").encode())
    v3 = nbformat.writes(nbformat.convert(reference_nb(), 3), version=3)
    add("nbformat3", "repaired", MAX, ["nbformat3"], raw=v3.encode())
    stripped = reference_nb()
    for cell in stripped.cells:
        cell.metadata = {}
        cell.pop("id", None)
    add("stripped-metadata", "repaired", MAX, ["metadata-restored"],
        raw=json.dumps(stripped).encode())
    dup = reference_nb()
    test_cell = dup.cells[cell_index(dup, "ex1_two_layer_test")]
    dup.cells.insert(cell_index(dup, "ex1_two_layer"), copy.deepcopy(test_cell))
    add("duplicated-cells", "repaired", MAX, ["duplicate-ids"],
        raw=json.dumps(dup).encode())
    deleted = reference_nb()
    del deleted.cells[cell_index(deleted, "ex2_count_test")]
    add("deleted-test", "repaired", MAX, ["cells-reinserted"], nb=deleted)
    deleted_blank = release_nb()
    del deleted_blank.cells[cell_index(deleted_blank, "ex2_count_test")]
    add("deleted-test-blank", "repaired", 0, ["cells-reinserted"], nb=deleted_blank)
    retyped = reference_nb()
    for grade_id, kind in (("ex3_predict", "markdown"), ("ex4_stack_test", "raw")):
        i = cell_index(retyped, grade_id)
        old = retyped.cells[i]
        new = (nbformat.v4.new_markdown_cell if kind == "markdown" else
               nbformat.v4.new_raw_cell)(old.source, metadata=old.metadata)
        new["id"] = old["id"]
        retyped.cells[i] = new
    add("retyped-cells", "repaired", MAX, ["cell-type-restored"], nb=retyped)
    edited = release_nb()
    for cell in edited.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = "pass  # the tests are gone"
    add("edited-tests", "repaired", 0, ["locked-edited"], nb=edited)
    add("renamed", "repaired", MAX, ["renamed"], nb=reference_nb(),
        name="ch01 module (final) copy.ipynb")
    # extra files, one of which would make every check pass if it were imported
    extra = write(folder, "extra-files", nb=mutant)
    (extra / "nncourse").mkdir()
    (extra / "nncourse" / "__init__.py").write_text("")
    (extra / "nncourse" / "checks.py").write_text(
        "def _ok(*a, **k):\n    return True\n"
        "check_close = check_equal = check_shape = check_true = check_dtype = _ok\n")
    (extra / "notes.txt").write_text("my notes")
    expected["extra-files"] = ("ok", "same as mutant", {"extra-files"})
    Path(folder, "empty-folder").mkdir()
    expected["empty-folder"] = ("missing", 0, set())

    # bounded and isolated
    add("infinite-loop", "timeout", MAX - 2, ["timeout:ex3_predict"],
        nb=with_answer("ex3_predict", "while True:\n    pass", where="instead"))
    add("stubborn-loop", "timeout", MAX - 2, ["timeout:ex2_count_test"],
        nb=with_answer("ex2_count", "import time\n"
                       "def count_parameters(model, trainable_only=False):\n"
                       "    while True:\n"
                       "        try:\n"
                       "            time.sleep(0.05)\n"
                       "        except KeyboardInterrupt:\n"
                       "            pass", where="instead"))
    add("slow-notebook", "timeout", None, ["notebook-time-limit"],
        nb=_slow(reference_nb()))
    add("os-exit", "crashed", MAX - 2, ["crashed:ex3_predict"],
        nb=with_answer("ex3_predict", "import os\nos._exit(1)"))
    add("sys-exit", "crashed", MAX, ["crashed:ex4_stack"],
        nb=with_answer("ex4_stack", "import sys\nsys.exit(3)", where="after"))
    add("memory-50gb", "memory", MAX - 2, [],
        nb=with_answer("ex2_count", "big = torch.ones(50 * 2**30 // 4)"))
    add("memory-growing", "memory", MAX - 2, [],
        nb=with_answer("ex5_parameter", "blocks = []\nwhile True:\n"
                       "    blocks.append(torch.ones(2**27))  # 512 MB each, touched"))
    add("print-100mb", "ok", MAX, ["output-truncated"],
        nb=with_answer("ex1_two_layer", "print('x' * 100_000_000)"))

    # tampering
    add("patches-checks", "ok", "same as mutant", ["tamper:checks"],
        nb=with_answer("ex1_two_layer",
                       "import nncourse.checks as c\nc.check_close = lambda *a, **k: None",
                       base=mutant))
    add("reads-source", "ok", MAX, ["tamper:source"],
        nb=with_answer("ex1_two_layer",
                       "try:\n    open('../../../source/ch01_module/ch01_module.ipynb')\n"
                       "except OSError:\n    pass"))
    add("patches-torch-by-exec", "ok", None, ["tamper:torch"],
        nb=with_answer("ex1_two_layer", "exec('import torch; torch.relu = torch.abs')"))
    return expected


def _slow(nb):
    for grade_id in ("ex1_two_layer", "ex2_count", "ex3_predict", "ex4_stack",
                     "ex5_parameter", "ex6_predict"):
        cell = nb.cells[cell_index(nb, grade_id)]
        cell.source = "import time\ntime.sleep(7)\n" + cell.source
    return nb


def run_grade(*args, timeout=900, **env_vars):
    env = dict(os.environ, PYTHONWARNINGS="ignore", **env_vars)
    return subprocess.run([sys.executable, "-m", "autograders", "grade", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _cmdline(proc):
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def read_csv(path):
    with open(path, newline="") as f:
        return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}


# ----------------------------------------------------------------------------------------
# The batch


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class") / "submitted"
    expected = build_class(folder)
    out = tmp_path_factory.mktemp("graded")
    proc = run_grade(str(folder), "--assignment", AID, "--out", str(out), *GRADE_ARGS)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = read_csv(out / "grades.csv")
    state = json.loads((out / "grading.json").read_text())
    return {"out": out, "rows": rows, "expected": expected, "state": state, "proc": proc}


def _row(batch, student):
    return batch["rows"][(student, AID)]


def test_every_student_has_a_row(batch):
    assert {s for s, _ in batch["rows"]} == set(batch["expected"])
    header = next(csv.reader(open(batch["out"] / "grades.csv")))
    assert header[:6] == ["student_id", "assignment", "score", "max_score", "status", "flags"]
    assert header[6:] == [f"{e}_test" for e in ("ex1_two_layer", "ex2_count", "ex3_predict",
                                                "ex4_stack", "ex5_parameter", "ex6_predict")]


@pytest.mark.parametrize("student", [
    "reference", "blank", "mutant", "chinese", "chinese-mutant", "garbage", "trailing-comma", "nbformat3",
    "stripped-metadata", "duplicated-cells", "deleted-test", "deleted-test-blank",
    "retyped-cells", "edited-tests", "renamed", "extra-files", "empty-folder",
    "infinite-loop", "stubborn-loop", "slow-notebook", "os-exit", "sys-exit",
    "memory-50gb", "memory-growing", "print-100mb", "patches-checks", "reads-source",
    "patches-torch-by-exec"])
def test_status_score_and_flags(batch, student):
    status, score, flags = batch["expected"][student]
    row = _row(batch, student)
    notes = batch["state"]["rows"][f"{AID}/{student}"]["notes"]
    assert row["status"] == status, (row, notes)
    assert float(row["max_score"]) == MAX
    if score == "same as mutant":
        assert row["score"] == _row(batch, "mutant")["score"], row
    elif score is not None:
        assert float(row["score"]) == score, (row, notes)
    assert flags <= set(row["flags"].split(";")), (row, notes)


def test_mutant_loses_points_and_cells_add_up(batch):
    mutant = _row(batch, "mutant")
    assert float(mutant["score"]) < MAX
    for row in batch["rows"].values():
        cells = [float(v) for k, v in row.items() if k.endswith("_test")]
        assert sum(cells) == pytest.approx(float(row["score"]))


def test_clean_submissions_have_no_flags(batch):
    for student in ("reference", "blank", "mutant", "chinese", "chinese-mutant"):
        assert _row(batch, student)["flags"] == ""


def test_crash_keeps_earlier_and_later_exercises(batch):
    row = _row(batch, "os-exit")
    assert float(row["ex1_two_layer_test"]) == 2 and float(row["ex2_count_test"]) == 2
    assert float(row["ex3_predict_test"]) == 0
    assert float(row["ex4_stack_test"]) == 2 and float(row["ex6_predict_test"]) == 2


def test_timeout_grades_later_exercises(batch):
    for student, cell in (("infinite-loop", "ex3_predict_test"),
                          ("stubborn-loop", "ex2_count_test")):
        row = _row(batch, student)
        assert float(row[cell]) == 0
        assert float(row["ex6_predict_test"]) == 2
    slow = _row(batch, "slow-notebook")
    assert float(slow["ex1_two_layer_test"]) == 2   # before the notebook's limit
    assert float(slow["ex6_predict_test"]) == 0     # never reached


def test_memory_cap_stops_only_that_kernel(batch):
    for student, cell in (("memory-50gb", "ex2_count_test"),
                          ("memory-growing", "ex5_parameter_test")):
        row = _row(batch, student)
        assert float(row[cell]) == 0
        assert float(row["ex1_two_layer_test"]) == 2
        assert float(row["ex6_predict_test"]) == 2


def test_huge_output_is_truncated(batch):
    nb_path = batch["out"] / "autograded" / "print-100mb" / AID / NB
    assert nb_path.stat().st_size < 3_000_000
    assert (batch["out"] / "grades.csv").stat().st_size < 100_000
    nb = nbformat.read(nb_path, as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "output truncated by the grader" in text


def test_shadowing_files_are_not_imported(batch):
    assert float(_row(batch, "extra-files")["score"]) < MAX
    kept = batch["out"] / "submitted" / "extra-files" / AID
    assert (kept / NB).exists(), "the notebook as handed in is kept in the record"
    # only notebooks land in the output folder: nothing there can shadow a module
    assert not (kept / "notes.txt").exists() and not (kept / "nncourse").exists()


def _feedback(batch, student):
    """A feedback page as written and with entities decoded (markdown headings come as
    character references)."""
    raw = (batch["out"] / "feedback" / student / AID / f"{AID}.html").read_text()
    return raw + "\n" + html_module.unescape(raw)


def _as_parsed(html):
    """A page as a browser reads it (markup written differently compares equal)."""
    from bs4 import BeautifulSoup
    return str(BeautifulSoup(html, features="html.parser"))


def test_feedback_shows_failures_not_hidden_tests(batch):
    html = _feedback(batch, "mutant")
    assert "CheckFailure" in html
    assert "Hint" in html
    source = nbformat.read(ROOT / "source" / AID / NB, as_version=4)
    for cell in source.cells:
        if "BEGIN HIDDEN TESTS" in cell.source:
            hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END")[0]
            for line in hidden.splitlines():
                line = line.strip()
                if len(line) > 25:
                    assert line not in html and line.replace('"', "&quot;") not in html
    assert "BEGIN HIDDEN TESTS" not in html


def test_feedback_is_what_stock_nbgrader_renders(batch, tmp_path):
    """The workers keep one feedback exporter for all their submissions, the HTML of
    every locked cell, and leave out nbconvert's second parse of the page
    (autograders.feedback): stock ``nbgrader generate_feedback`` on the record folder
    renders the same page for every student, once both are read as HTML."""
    out = batch["out"]
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback", AID,
                           "--force", f"--CourseDirectory.feedback_directory={tmp_path}"],
                          cwd=out, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ours = sorted(out.glob(f"feedback/*/{AID}/*.html"))
    assert len(ours) >= 10
    for path in ours:
        stock = (tmp_path / path.relative_to(out / "feedback")).read_text()
        if path.parts[-3].startswith("chinese"):   # its labels in its language, no more
            stock = localise_feedback(stock, "zh_CN")
        assert _as_parsed(stock) == _as_parsed(path.read_text()), path


def test_feedback_speaks_the_language_of_the_notebook(batch):
    chinese, english = _feedback(batch, "chinese"), _feedback(batch, "reference")
    assert f"（得分：{MAX:.1f} / {MAX:.1f}）" in chinese and "练习 1" in chinese
    assert "(Score:" not in chinese and "Test cell</a>" not in chinese
    assert f"(Score: {MAX:.1f} / {MAX:.1f})" in english and "练习" not in english


def test_checks_speak_the_language_of_the_notebook(batch):
    """The same wrong answer, handed in English and in Chinese: the same scores, cell by
    cell, and the checks' words (passed lines and the failure) in each one's language."""
    english, chinese = _row(batch, "mutant"), _row(batch, "chinese-mutant")
    assert {k: v for k, v in english.items() if k.endswith("_test")} == \
        {k: v for k, v in chinese.items() if k.endswith("_test")}
    cjk = re.compile(r"[\u4e00-\u9fff]")
    failure = re.compile(r"CheckFailure(?:</span>)?: ([^\n<]{1,600})")
    ticks = re.compile(r"\u2713 ([^\n<]*)")
    for student, speaks_chinese in (("mutant", False), ("chinese-mutant", True),
                                    ("reference", False), ("chinese", True)):
        html = _feedback(batch, student)
        found = ticks.findall(html)
        assert found, student
        assert all(bool(cjk.search(line)) == speaks_chinese for line in found
                   if re.search("[A-Za-z]{3} [a-z]{3}", line) or cjk.search(line)), found
        if "mutant" in student:
            said = failure.findall(html)
            assert said and bool(cjk.search(said[0])) == speaks_chinese, said


def test_report_has_plots(batch):
    html = (batch["out"] / "report.html").read_text()
    assert html.count("<svg ") >= 4  # per assignment: scores, statuses, two per exercise
    assert "Score distribution per exercise" in html
    assert "Exercises most students miss" in html


def test_the_benchmark_accounts_for_a_notebooks_time(batch):
    """``benchmarks/grading.py`` on a real run's grading.json: every phase the benchmark
    reports is there and none is negative, the steps it puts in the worker add up to no
    more than the jobs' own time, and the class's figures follow from the cells."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import grading
    last = batch["state"]["last_run"]
    run = dict(grading.read_run(batch["out"]), wall=last["seconds"])
    n = len(run["timings"])
    steps = grading.per_notebook(run, n)
    assert {"staging (grader)", "kernel start", "student cells", "test cells (judge)",
            "kernel stop", "nbgrader converters", "feedback HTML",
            "record (grader)"} <= set(steps)
    assert all(v >= 0 for k, v in steps.items() if k != "job, the rest"), steps
    assert steps["job, the rest"] >= -0.01, steps  # nothing counted twice
    assert steps["test cells (judge)"] > 0 and steps["kernel start"] > 0
    figures = grading.class_figures(run, n, last["workers"])
    cells = sum(t["cells"] for t in run["timings"])
    assert figures["floor"] == pytest.approx(cells / last["workers"])
    assert figures["x_floor"] > figures["x_floor_with_tests"] > 1
    assert 0 < figures["non_cell_per_notebook"] < last["seconds"] * last["workers"] / n


def test_gradebook_is_the_record(batch):
    """nbgrader export (from the record gradebook) agrees with grades.csv."""
    out = batch["out"]
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to",
                           "export.csv"], cwd=out, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    exported = read_csv(out / "export.csv")
    for key, row in batch["rows"].items():
        assert key in exported, key
        assert float(exported[key]["score"]) == pytest.approx(float(row["score"])), key
        assert float(exported[key]["max_score"]) == float(row["max_score"])
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        for (student, aid), row in batch["rows"].items():
            if row["status"] in ("missing", "unreadable"):
                continue
            sub = gb.find_submission(aid, student)
            assert (out / "autograded" / student / aid / NB).exists()
            assert sub.score == pytest.approx(float(row["score"]))


def test_no_database_locking(batch):
    text = batch["proc"].stdout + batch["proc"].stderr + json.dumps(batch["state"])
    assert "database is locked" not in text
    assert "error" not in {r["status"] for r in batch["rows"].values()}


# ----------------------------------------------------------------------------------------
# Smaller runs


def test_repeatable_late_submissions_and_lms_zip(tmp_path):
    """The same input twice gives the same CSV (with kernels forked or started afresh);
    a later zip of late submissions from an LMS keeps every earlier row."""
    folder = tmp_path / "submitted"
    write(folder, "alice", nb=reference_nb())
    write(folder, "bob", nb=sample_submissions(AID)["mutant-2"][NB])
    out = tmp_path / "out"
    first = run_grade(str(folder), "--out", str(out), "--workers", "3")
    assert first.returncode == 0, first.stderr[-3000:]
    csv1 = (out / "grades.csv").read_text()
    scratch = tmp_path / "scratch"  # the run's scratch and its kernels' job folders
    scratch.mkdir()
    again = run_grade(str(folder), "--out", str(out), "--workers", "1", "--no-fork",
                      TMPDIR=str(scratch))
    assert again.returncode == 0, again.stderr[-3000:]
    # kernels started afresh (not forked) go with their run, whatever stopped them
    left = [p for p in Path("/proc").iterdir() if p.name.isdigit()
            and str(scratch) in _cmdline(p)]
    assert not left, [_cmdline(p) for p in left]
    assert (out / "grades.csv").read_text() == csv1
    # late work, downloaded from Canvas: login_userid_submissionid_filename in a flat zip
    archive = tmp_path / "late.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"doejane_1001_5001_{NB}", nbformat.writes(reference_nb()))
        zf.writestr(f"roejohn_LATE_1002_5002_{AID}-1.ipynb", nbformat.writes(release_nb()))
        zf.writestr("readme.pdf", b"%PDF-1.4 nobody's")
    late = run_grade(str(archive), "--assignment", AID, "--out", str(out), "--workers", "2")
    assert late.returncode == 0, late.stderr[-3000:]
    rows = read_csv(out / "grades.csv")
    for row in csv.DictReader(io.StringIO(csv1)):
        assert rows[(row["student_id"], row["assignment"])] == row
    assert float(rows[("alice", AID)]["score"]) == MAX
    assert rows[("doejane", AID)]["status"] == "ok"
    assert float(rows[("doejane", AID)]["score"]) == MAX
    assert rows[("roejohn", AID)]["status"] == "repaired"  # its notebook was renamed
    assert float(rows[("roejohn", AID)]["score"]) == 0
    assert rows[("readme", AID)]["status"] == "unknown"     # nothing lost, said why
    assert len(rows) == 5


def _marked(mark, scratch):
    """The processes alive that carry ``mark`` in their environment (the grader's workers
    and the server they fork from) or ``scratch`` in their command (zygote, proxies)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or proc.name == str(os.getpid()):
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (mark.encode() in environ or str(scratch) in _cmdline(proc)):
            found.append(_cmdline(proc)[:200])
    return found


def test_a_killed_grader_leaves_no_process(tmp_path):
    """The grader killed mid-run (SIGKILL: nothing of it runs after): its workers, the
    server they fork from, the zygote and the kernels all end within seconds."""
    import time
    folder = tmp_path / "submitted"
    for k in range(6):
        write(folder, f"student{k}", nb=reference_nb())
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = dict(os.environ, PYTHONWARNINGS="ignore", TMPDIR=str(scratch),
               NNCOURSE_KILL_MARK=f"grader-{os.getpid()}")
    mark = f"NNCOURSE_KILL_MARK={env['NNCOURSE_KILL_MARK']}"
    grader = subprocess.Popen([sys.executable, "-m", "autograders", "grade", str(folder),
                               "--out", str(tmp_path / "out"), "--workers", "2"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    for line in grader.stdout:  # until the first result: workers and kernels are up
        if line.strip().startswith("[1/"):
            break
    assert grader.poll() is None, "the run ended before it could be killed"
    assert _marked(mark, scratch), "no process of the run found to watch"
    grader.kill()
    grader.wait()
    deadline = time.monotonic() + 20
    while _marked(mark, scratch) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = _marked(mark, scratch)
    assert not left, left


def test_bad_arguments_fail_fast(tmp_path):
    proc = run_grade(str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"), timeout=120)
    assert proc.returncode == 2 and "no such file" in proc.stderr
    proc = run_grade(str(tmp_path), "--assignment", "ch99_nothing", timeout=120)
    assert proc.returncode == 2


# ----------------------------------------------------------------------------------------
# Units (no kernel)


def test_repair_units():
    from autograders.repair import Unreadable, read_notebook, repair_notebook
    release = release_nb()
    ref = reference_nb()
    ids = [c.metadata["nbgrader"]["grade_id"] for c in release.cells
           if c.metadata.get("nbgrader")]

    def graded_ids(nb):
        return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
                if c.metadata.get("nbgrader")]
    assert repair_notebook(ref, release).flags == []
    stripped = copy.deepcopy(ref)
    for cell in stripped.cells:
        cell.metadata = {}
    stripped.cells.insert(4, nbformat.v4.new_code_cell("print('debugging')"))
    fixed = repair_notebook(stripped, release)
    assert graded_ids(fixed.nb) == ids
    answer = fixed.nb.cells[cell_index(fixed.nb, "ex1_two_layer")]
    assert "class TwoLayerNet" in answer.source and "NotImplementedError" not in answer.source
    with pytest.raises(Unreadable):
        read_notebook(b"{\"cells\": [")
    with pytest.raises(Unreadable):
        read_notebook(b"[1, 2, 3]")
    nb, flags = read_notebook("\ufeff" + nbformat.writes(ref))
    assert graded_ids(repair_notebook(nb, release, flags).nb) == ids


def test_tamper_scan_units():
    from autograders.tamper import scan
    assert scan(["class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                 "        self.fc = nn.Linear(2, 3)\n", "F = torch.nn.functional"]) == []
    assert scan(["torch.Tensor.__eq__ = lambda a, b: True"]) == ["tamper:torch"]
    assert scan(["import numpy\nnumpy.allclose = max"]) == ["tamper:numpy"]
    assert scan(["def len(x):\n    return 6"]) == ["tamper:builtins"]
    assert scan(["import builtins\nsetattr(builtins, 'print', None)"]) == ["tamper:builtins"]
    assert scan(["from nncourse import checks\nchecks.check_equal = print"]) == [
        "tamper:checks"]
    assert scan(["open('/course/source/ch01_module/ch01_module.ipynb')"]) == ["tamper:source"]
    assert scan(["%time x = 1\nvars(torch)['relu'] = abs"]) == ["tamper:torch"]
    assert scan(["import sys\nsys.modules.update(fake)"]) == ["tamper:modules"]
    assert scan(["import sys\ndel sys.modules['torch']"]) == ["tamper:modules"]
    assert scan(["import sys\nm = sys.modules.get('torch')"]) == []


def test_lms_names_are_parsed(tmp_path):
    from autograders.collect import from_loose_files
    for name in (f"doejane_1001_5001_{NB}",
                 f"Jane Doe_1001_assignsubmission_file_{NB}",
                 f"{AID}_doejane_attempt_2024-01-30-15-00-00_{NB}"):
        folder = tmp_path / name[:8]
        folder.mkdir()
        nbformat.write(reference_nb(), folder / name)
        entries = from_loose_files(folder, tmp_path / f"staged-{name[:8]}", AID)
        students = {e.student for e in entries}
        assert students in ({"doejane"}, {"1001"}), (name, students)


def test_sample_class_is_collected(tmp_path):
    """No SUBMISSIONS: reference, blank and mutants of the assignment, as students."""
    from autograders.collect import collect
    entries = collect(None, tmp_path, AID)
    students = {e.student for e in entries}
    assert {"reference", "blank", "mutant-1"} <= students
    assert all(e.assignment == AID and not e.status for e in entries)
    folder = collect(str(tmp_path / "sample" / "reference"), tmp_path / "again", None)
    assert [(e.student, e.assignment) for e in folder] == [("reference", AID)]


def test_guard_puts_back_what_student_code_rebinds():
    """Inside a kernel, before each test cell: torch, its classes and the checks as they
    were (run in a fresh interpreter, not to disturb this one)."""
    script = (
        "import torch, nncourse.checks as checks\n"
        "from autograders import tamper\n"
        "tamper.snapshot()\n"
        "allclose, check_close = torch.allclose, checks.check_close\n"
        "torch.allclose = lambda *a, **k: True\n"
        "checks.check_close = lambda *a, **k: None\n"
        "torch.Tensor.__eq__ = lambda a, b: True\n"
        "copy = __import__('copy').deepcopy(torch.nn.Parameter(torch.ones(2)))\n"
        "assert tamper.guard() == 3\n"
        "assert torch.allclose is allclose and checks.check_close is check_close\n"
        "assert not (torch.ones(2) == torch.zeros(2)).any()\n"
        "found = tamper.changed()\n"
        "assert found == {'torch': ['torch.Tensor.__eq__', 'torch.allclose'],\n"
        "                 'checks': ['nncourse.checks.check_close']}, found\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_the_gradebook_schema_head_is_the_one_alembic_reports(tmp_path):
    """``grade`` reads it in-process instead of nbgrader's ``alembic heads`` subprocess."""
    from autograders.grade import alembic_head
    import nbgrader
    ini = tmp_path / "alembic.ini"
    ini.write_text(f"[alembic]\nscript_location = {Path(nbgrader.__file__).parent / 'alembic'}\n"
                   f"sqlalchemy.url = sqlite:///{tmp_path / 'g.db'}\n")
    out = subprocess.run([str(Path(sys.executable).parent / "alembic"), "-c", str(ini),
                          "heads"], capture_output=True, text=True, check=True).stdout
    assert out.split()[0] == alembic_head()


def test_the_feedback_exporter_renders_what_nbconvert_renders():
    """Without nbconvert's second parse, with markdown and code kept between pages: the
    same page as nbconvert's HTML exporter, images given their alt text, twice."""
    from nbconvert.exporters import HTMLExporter
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from autograders.feedback import FeedbackExporter

    pixel = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAE"
             "hQGAhKmMIQAAAABJRU5ErkJggg==")
    nb = new_notebook(cells=[
        new_markdown_cell("# A title\n\nSome *words* and `code`, $x^2$."),
        new_code_cell("import torch\nX = torch.ones(2, 3)  # (N, D)\nX.shape", outputs=[
            new_output("execute_result", {"text/plain": "torch.Size([2, 3])"},
                       execution_count=1),
            new_output("display_data", {"image/png": pixel, "text/plain": "<Figure>"})]),
        new_markdown_cell('An image: <img src="data:image/png;base64,' + pixel + '">')])
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    stock, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    ours = FeedbackExporter(template_name="classic")
    for _ in range(2):
        html, _ = ours.from_notebook_node(nb)
        assert _as_parsed(html) == _as_parsed(stock)
    assert html.count('alt="No description has been provided for this image"') == 2
