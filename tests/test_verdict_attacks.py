"""Attacks on the verdict of a judged chapter: the student's kernel tries to pass, or to
read the hidden tests, while a separate judge kernel runs the test cells.

Chapter 1 is graded with the judge (``autograders.judge``): a test cell never runs in the
student's kernel; the judge runs it and reaches the student's objects over a socket that
the kernel serves (``autograders.kernel_server``), and the test cell's outputs are built
from the judge's verdict only. Here a class is built from the chapter 1 release notebook:
honest students hand in the reference answers; every attacker hands in a wrong answer for
every exercise (the first mutant of each, from ``source/ch01_module/mutants.py``) with one
attack in the first answer cell, before that wrong answer. The attacks are what a
malicious student would write in their kernel: IPython input and AST transformers, a
custom exception handler, patched checks, torch and builtins, a replaced ``sys.modules``,
tracers and run-cell hooks, a kernel server that lies to the judge, a search of the
kernel's files and memory for the hidden tests. After one bounded grading run the tests
check, attack by attack, that

- the attacker scores zero on every exercise (its wrong answers stay wrong);
- no hidden-test or solution line reaches its feedback or its graded notebook's outputs;
- the graded test cells carry only what the judge wrote;
- honest classmates keep full marks, and every student has a row.

A known hole is a test marked ``xfail(strict=True)`` with what it is: it fails the file
the day the hole is closed, so that the mark is taken off.
"""
import copy
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from autograders import RELEASE, ROOT, SOURCE
from autograders.leaks import public_lines, secret_lines
from autograders.sample import submissions as sample_submissions
from notebook_cells import cell_index, feedback_text, guarded

AID = "ch01_module"
NB = f"{AID}.ipynb"
MAX = 12
MARK = "NNVERDICT"
TICK = "\u2713"
HONEST = ("honest-1", "honest-2", "honest-3")
EXERCISES = ("ex1_two_layer", "ex2_count", "ex3_predict", "ex4_stack", "ex5_parameter",
             "ex6_predict")
GRADE_ARGS = ["--workers", "2", "--cell-timeout", "20", "--notebook-timeout", "60",
              "--memory", "1.5"]

# Each attack runs in the first answer cell, before the wrong answer. {mark} is what the
# tests look for afterwards: nothing the attack prints may show up in a test cell.
ATTACKS = {
    # 1. every cell the kernel runs from now on, printed: a test cell's hidden lines would
    # land in the outputs of the cell, and so in the feedback
    "input-transformer-prints-cells": """
ip = get_ipython()
def show_cell(lines):
    text = "".join(lines)
    print("{mark}-CELL:", text)
    print("{mark}-CELL:", text, file=sys.__stdout__)
    return lines
ip.input_transformers_cleanup.insert(0, show_cell)
ip.input_transformers_post.append(show_cell)
""",
    # 2. a test cell (it calls the checks) becomes `pass`: no check, no failure
    "input-transformer-drops-tests": """
def drop_tests(lines):
    if any("check_" in line for line in lines):
        print("{mark}-DROPPED:", "".join(lines)[:300])
        return ["pass\\n"]
    return lines
get_ipython().input_transformers_post.append(drop_tests)
""",
    # 3. every cell from now on compiles to `pass` (the grader's own requests included)
    "ast-transformer-empties-cells": """
import ast
class Empty(ast.NodeTransformer):
    def visit_Module(self, node):
        print("{mark}-EMPTIED")
        return ast.fix_missing_locations(ast.Module(body=[ast.Pass()], type_ignores=[]))
get_ipython().ast_transformers.append(Empty())
""",
    # 4. every exception (CheckFailure, AssertionError, KeyboardInterrupt) swallowed
    "custom-exc-swallows-errors": """
def swallow(shell, etype, value, tb, tb_offset=None):
    print("{mark}-SWALLOWED:", etype.__name__)
    return None
get_ipython().set_custom_exc((BaseException,), swallow)
""",
    # 5. every function of the course's checks does nothing, and CheckFailure is another
    # class (nothing raises it, nothing catches it)
    "patches-the-checks": """
import gc, types
import nncourse, nncourse.checks
nothing = (lambda *a, **k: None).__code__
patched = 0
for obj in gc.get_objects():
    if isinstance(obj, types.FunctionType) and \\
            str(getattr(obj, "__module__", "") or "").startswith("nncourse"):
        try:
            obj.__code__ = nothing
            obj.__defaults__ = None
            obj.__kwdefaults__ = None
            patched += 1
        except (ValueError, TypeError):
            pass   # a closure: its code object needs free variables
class CheckFailure(Exception):
    pass
nncourse.checks.CheckFailure = CheckFailure
for name in dir(nncourse.checks):
    if name.startswith("check_"):
        setattr(nncourse.checks, name, lambda *a, **k: None)
print("{mark}-PATCHED:", patched)
""",
    # 6. the torch functions the tests compare with, lying; F.linear the wrong formula
    "patches-torch": """
import torch, torch.testing
import torch.nn.functional as F
torch.allclose = lambda *a, **k: True
torch.Tensor.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.Tensor.equal = lambda *a, **k: True
torch.Tensor.__eq__ = lambda self, other: True
torch.Tensor.__ne__ = lambda self, other: False
torch.testing.assert_close = lambda *a, **k: None
F.linear = lambda input, weight, bias=None: input @ weight.T - (0 if bias is None else bias)
print("{mark}-PATCHED")
""",
    # 7. builtins that tests use, lying to the notebook's and the checks' code
    "patches-builtins": """
import builtins
real = dict(vars(builtins))
# the callers lied to: the notebook's cells, the checks, a test's code (lying to the
# libraries, importlib or the grader's code in the kernel would only bring the kernel down)
lied_to = ("/tmp/ipykernel", "<ipython-input", "<test", os.path.dirname(nncourse.__file__))
def lie():
    return sys._getframe(2).f_code.co_filename.startswith(lied_to)
def fake_isinstance(obj, cls):
    return True if lie() else real["isinstance"](obj, cls)
def fake_sum(iterable, start=0):
    return 404 if lie() else real["sum"](iterable, start)   # what exercise 1 counts
def fake_all(iterable):
    return True if lie() else real["all"](iterable)
def fake_len(obj):
    return 6 if lie() else real["len"](obj)
class FakeAssertionError(Exception):
    pass
builtins.isinstance, builtins.sum = fake_isinstance, fake_sum
builtins.all, builtins.len = fake_all, fake_len
builtins.AssertionError = FakeAssertionError
print("{mark}-PATCHED")
""",
    # 8. the checks (all of nncourse) and the grader's tamper guard as modules that do
    # nothing, for whoever imports them from now on
    "replaces-sys-modules": """
import types
def nothing(*a, **k):
    return None
class CheckFailure(Exception):
    pass
names = [n for n in sys.modules
         if n == "nncourse" or n.startswith("nncourse.") or n == "autograders.tamper"]
fakes = {n: types.ModuleType(n) for n in names}
for n in names:
    for attr, value in list(vars(sys.modules[n]).items()):
        if not attr.startswith("__"):
            setattr(fakes[n], attr, fakes.get(getattr(value, "__name__", None), nothing)
                    if isinstance(value, types.ModuleType) else nothing)
    fakes[n].CheckFailure = CheckFailure
    fakes[n].__path__ = []
sys.modules.update(fakes)
import nncourse.checks
print("{mark}-REPLACED:", nncourse.checks.check_close(1, 2))
""",
    # 9. a tracer that jumps every frame of the notebook's and the checks' code to its
    # last line (the checks' comparisons skipped), a profiler that re-arms it, and hooks
    # and a display hook that say PASSED
    "tracer-and-hooks": """
import threading
checks_dir = os.path.dirname(nncourse.__file__)
def targeted(code):
    name = code.co_filename
    return name.startswith((checks_dir, "/tmp/ipykernel", "<ipython-input", "<test"))
def jump_to_end(frame, event, arg):
    if event == "line":
        last = max((line for _, _, line in frame.f_code.co_lines() if line), default=0)
        if last > frame.f_lineno:
            try:
                frame.f_lineno = last
            except ValueError:
                pass   # into a block: not allowed
        frame.f_trace_lines = False   # once a frame (a `with` exit comes back to its line)
    return jump_to_end
def tracer(frame, event, arg):
    return jump_to_end if targeted(frame.f_code) else None
def profiler(frame, event, arg):
    if event == "call" and sys.gettrace() is None:
        sys.settrace(tracer)
sys.settrace(tracer)
sys.setprofile(profiler)
threading.settrace(tracer)
threading.setprofile(profiler)
ip = get_ipython()
def say_passed(*args):
    print("PASSED {mark}")
def clear_errors(result):
    print("PASSED {mark}")
    result.error_in_exec = None
    result.error_before_exec = None
ip.events.register("pre_run_cell", say_passed)
ip.events.register("pre_execute", say_passed)
ip.events.register("post_run_cell", clear_errors)
ip.events.register("post_execute", say_passed)
sys.displayhook = lambda value: print("PASSED {mark}")
""",
    # 10. the kernel's server replaced: every request the judge sends gets a made-up
    # answer (True, a handle that claims to be a module, zeros shaped like the input)
    "fake-server-lies": """
import socket
import torch
import autograders.kernel_server as ks
from autograders import wire
LIES = {"rewrite": False}
""",
    # 10b. the same, and it also rewrites the judge's own tensors through the "sync" of
    # a reply (meant for arguments that the student's code changes in place): every
    # tensor the judge sends becomes zeros, so that expected values computed from them
    # after the call are zeros too
    "fake-server-rewrites-judge-inputs": """
import socket
import torch
import autograders.kernel_server as ks
from autograders import wire
LIES = {"rewrite": True}
""",
    # 11. the hidden tests looked for in every file the kernel can read and in its memory
    "searches-files-and-memory": """
import gc, re, time, types
WANTED = ["".join(["BEGIN ", "HIDDEN"]), "".join(["manual_seed(", "101)"])]
hits = []
def found(where, data, at):
    hits.append(where)
    if len(hits) <= 40:
        print("FOUND:", where, repr(data[max(0, at - 300): at + 1500]))
def look(where, data):
    for word in WANTED:
        w = word.encode() if isinstance(data, bytes) else word
        at = data.find(w)
        if at >= 0 and data != w:
            found(where, data, at)
            return
# the files: everything but the system's libraries, the standard library and the
# packages inside site-packages (their top-level files, .pth and the like, are read)
skip = ("/proc", "/sys", "/dev", "/usr/lib", "/usr/share", "/usr/include", "/usr/src",
        "/usr/libexec", "/lib", "/lib32", "/lib64", "/libx32")
began, files, dirs_seen = time.monotonic(), 0, 0
for folder, dirs, names in os.walk("/"):
    dirs_seen += 1
    if folder.startswith(skip):
        dirs[:] = []
        continue
    if re.search(r"/lib/python3\.\d+$", folder):
        dirs[:] = [d for d in dirs if d == "site-packages"]
        continue
    if folder.endswith("site-packages"):
        dirs[:] = []
    if time.monotonic() - began > 10:
        print("WALK STOPPED AT:", folder)
        break
    for name in names:
        path = os.path.join(folder, name)
        try:
            if not os.path.isfile(path) or os.path.getsize(path) > 8 << 20:
                continue
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        files += 1
        look(path, data)
print("WALKED:", files, "files in", dirs_seen, "folders")
# the objects: strings in containers and in the constants of functions
strings = 0
for obj in gc.get_objects():
    if obj is WANTED:
        continue
    try:
        if isinstance(obj, dict):
            items = list(obj.values()) + list(obj.keys())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            items = list(obj)
        elif isinstance(obj, types.FunctionType):
            items = obj.__code__.co_consts
        else:
            continue
    except Exception:
        continue
    for item in items:
        if isinstance(item, (str, bytes)) and len(item) > 12:
            strings += 1
            look("object", item)
print("STRINGS:", strings)
# the memory: every readable private mapping, read in place (the sandbox leaves the
# kernel non-dumpable, so /proc/self/mem is closed to it; its own memory is not)
import ctypes
scanned, began = 0, time.monotonic()
with open("/proc/self/maps") as maps:
    regions = [line.split() for line in maps]
for parts in regions:
    start, end = (int(x, 16) for x in parts[0].split("-"))
    name = parts[5] if len(parts) > 5 else ""
    if "r" not in parts[1] or name.startswith("/") or name.startswith("[") and \\
            name not in ("[heap]", "[stack]") and not name.startswith("[anon"):
        continue   # files, and the kernel's pages ([vvar], [vdso]...), fault when read
    for at in range(start, end, 16 << 20):
        if time.monotonic() - began > 6 or scanned > 3 << 30:
            break
        chunk = ctypes.string_at(at, min((16 << 20) + 64, end - at))
        scanned += len(chunk)
        for word in WANTED:
            w, pos = word.encode(), 0
            while True:
                pos = chunk.find(w, pos)
                if pos < 0:
                    break
                # our own copies of the words (and freed ones) stand alone; in a test
                # cell's source the seed follows "g = torch.Generator()."
                before = chunk[max(0, pos - 40): pos]
                after = chunk[pos + len(w): pos + len(w) + 6]
                if b"Generator()." in before or (word == WANTED[0] and after == b" TESTS"):
                    found(f"memory {at + pos:#x}", chunk, pos)
                pos += len(w)
print("SCANNED:", scanned, "bytes of memory")
print("HITS:", len(hits))
""",
    # 12. no attack on the grader at all: a wrong `predict` that zeroes its arguments in
    # place (as a function may change its arguments) and returns zeros (see OWN_ANSWERS)
    "zeroes-its-inputs-in-place": """
print("{mark}-PLAIN")
""",
}

# The fake server of attacks 10 and 10b: after the attack's own lines (LIES says which).
FAKE_SERVER = """
FAKE_MRO = ["torch.nn.modules.module.Module", "torch.Tensor", "builtins.object"]
def lie(request, state):
    op = request.get("op")
    state["n"] += 1
    handle = {wire.MARK: "remote", "id": state["n"], "mro": FAKE_MRO, "type": "Module",
              "repr": None}
    if op in ("name", "getattr", "getitem"):
        return handle
    if op == "call":
        tensors = [a for a in list(request.get("args") or ()) +
                   list((request.get("kwargs") or {}).values()) if isinstance(a, torch.Tensor)]
        if len(tensors) >= 2 and tensors[0].dim() == 2 and tensors[1].dim() == 2:
            data = torch.zeros(tensors[0].shape[0], tensors[1].shape[0])
        elif tensors:
            data = torch.zeros_like(tensors[0].detach())
        else:
            return handle
        return {wire.MARK: "tensor", "data": data, "rg": False, "param": False, "grad": None}
    if op == "iter":
        return []
    return True
def fake_serve(path, timeout=600, namespace=None):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    listener.settimeout(timeout)
    conn, _ = listener.accept()
    listener.close()
    os.unlink(path)
    state, mirrors = {"n": 0}, {}
    def load(pid):
        if pid[0] == "new":
            obj, _ = wire.load_request(pid[2], load)
            mirrors[pid[1]] = obj
            return obj
        return mirrors.get(pid[1]) if pid[0] == "m" else None
    with conn:
        while True:
            try:
                request = wire.load_request(wire.recv_bytes(conn, 1 << 34), load)
            except Exception:
                return
            if request.get("op") == "bye":
                return
            reply = {"value": lie(request, state), "blocked": [], "sync": {}}
            if LIES["rewrite"]:
                reply["sync"] = {mid: {"data": torch.zeros_like(t.detach()),
                                       "rg": t.requires_grad, "grad": None}
                                 for mid, t in mirrors.items() if isinstance(t, torch.Tensor)}
            wire.send_bytes(conn, wire.dump_reply(reply))
ks.serve = fake_serve
ks.Server.run = lambda self, request: True
print("{mark}-FAKE-SERVER")
"""
for _name in ("fake-server-lies", "fake-server-rewrites-judge-inputs"):
    ATTACKS[_name] += FAKE_SERVER

# Answer cells an attacker writes itself (every other exercise: its first mutant).
OWN_ANSWERS = {
    "zeroes-its-inputs-in-place": {"ex6_predict": """\
def predict(model, x):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        x.zero_()
        for p in model.parameters():
            p.zero_()
        out = model(x)
    model.train(was_training)
    return out
"""},
}

# Rows that are not "ok", and why (none: an AST transformer that empties the grader's
# request to serve the judge fails each test cell at once, see autograders/judge.py).
STATUS = {}

# Exercises that an attack passes: holes, each said exactly (strict: when one is closed,
# the test fails until its mark here is taken off).
HOLES = {}


def _attack_cell(name):
    return guarded("import os, sys\nimport nncourse\n" + ATTACKS[name].replace("{mark}", MARK))


def _build_class(folder):
    subs = sample_submissions(AID)
    reference, wrong = subs["reference"][NB], subs["mutant-1"][NB]
    assert set(subs["mutant-1"]["__plan__"]) >= set(EXERCISES), "a mutant for every exercise"
    for student in HONEST:
        (folder / student / AID).mkdir(parents=True)
        nbformat.write(reference, folder / student / AID / NB)
    for name in ATTACKS:
        nb = copy.deepcopy(wrong)
        for cell_id, source in OWN_ANSWERS.get(name, {}).items():
            nb.cells[cell_index(nb, cell_id)].source = source
        cell = nb.cells[cell_index(nb, EXERCISES[0])]
        cell.source = _attack_cell(name) + "\n" + cell.source
        (folder / name / AID).mkdir(parents=True)
        nbformat.write(nb, folder / name / AID / NB)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("verdict")
    folder, out, home = base / "submitted", base / "graded", base / "home"
    home.mkdir()
    _build_class(folder)
    scratch = Path(tempfile.mkdtemp(prefix="nnv-", dir="/tmp"))
    env = dict(os.environ, PYTHONWARNINGS="ignore", HOME=str(home), TMPDIR=str(scratch))
    began = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "autograders", "grade", str(folder),
                           "--assignment", AID, "--out", str(out), *GRADE_ARGS],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.monotonic() - began
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    yield {"out": out, "rows": rows, "proc": proc, "folder": folder, "seconds": seconds}
    shutil.rmtree(scratch, ignore_errors=True)


def _autograded(out, student):
    return nbformat.read(out / "autograded" / student / AID / NB, as_version=4)


def _output_text(output):
    parts = [output.get("text", ""), output.get("ename") or "", output.get("evalue") or ""]
    parts += list(output.get("traceback") or [])
    for value in (output.get("data") or {}).values():
        parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(str(p) for p in parts)


def _outputs(nb, test_cells=None):
    """The text of every output of the notebook (of its test cells only, or of the others
    only, when ``test_cells`` says so)."""
    texts = []
    for cell in nb.cells:
        is_test = bool(cell.metadata.get("nbgrader", {}).get("grade"))
        if cell.cell_type == "code" and (test_cells is None or test_cells == is_test):
            texts += [_output_text(o) for o in cell.get("outputs", [])]
    return "\n".join(texts)


def _printed(out, student):
    """What the attack printed: the outputs of its cell in the autograded notebook."""
    nb = _autograded(out, student)
    return _output_text_of(nb.cells[cell_index(nb, EXERCISES[0])])


def _output_text_of(cell):
    return "\n".join(_output_text(o) for o in cell.get("outputs", []))


def _secrets(student_folder):
    """Hidden-test and solution lines of source/ (all those between the markers, comments
    too) that are neither in nor part of a line the release copy shows or the student
    wrote (their own cells are theirs to see). They are looked for as substrings, so
    that one quoted inside a longer line is found too."""
    source = nbformat.read(SOURCE / AID / NB, as_version=4)
    shown = public_lines(nbformat.read(RELEASE / AID / NB, as_version=4)) | {
        line.strip() for c in nbformat.read(student_folder / AID / NB, as_version=4).cells
        for line in c.source.splitlines()}
    return {line for line in secret_lines(source) | set(_hidden_lines())
            if not any(line in other for other in shown)}


def _hidden_lines():
    """The lines between the HIDDEN TESTS markers of the source notebook."""
    source = nbformat.read(SOURCE / AID / NB, as_version=4)
    lines = []
    for cell in source.cells:
        for block in re.findall(r"### BEGIN HIDDEN TESTS\n([\s\S]*?)### END HIDDEN TESTS",
                                cell.source):
            lines += [line.strip() for line in block.splitlines() if len(line.strip()) >= 13]
    return lines


def _score_params():
    for attack in sorted(ATTACKS):
        for exercise in EXERCISES:
            hole = HOLES.get((attack, exercise))
            marks = [pytest.mark.xfail(strict=True, reason=hole)] if hole else []
            yield pytest.param(attack, exercise, marks=marks, id=f"{attack}-{exercise}")


def test_every_student_has_a_row_and_honest_ones_keep_their_scores(graded):
    rows = graded["rows"]
    assert set(rows) == set(HONEST) | set(ATTACKS), graded["proc"].stdout[-2000:]
    for student in HONEST:
        assert rows[student]["status"] == "ok", rows[student]
        assert float(rows[student]["score"]) == MAX, rows[student]
        for exercise in EXERCISES:
            assert float(rows[student][f"{exercise}_test"]) == 2, (student, rows[student])
    assert "sandbox" in graded["proc"].stdout and "NO SANDBOX" not in graded["proc"].stdout
    assert graded["seconds"] < 240, f"the grading run took {graded['seconds']:.0f} s"


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_the_attack_ran_and_its_row_is_ok(graded, attack):
    row = graded["rows"][attack]
    assert row["status"] == STATUS.get(attack, "ok"), row
    printed = _printed(graded["out"], attack)
    lines = printed.splitlines()
    assert "ATTACK DONE" in lines, printed[-2000:]
    assert not [line for line in lines if line.startswith("ATTACK FAILED:")], printed[-2000:]


@pytest.mark.parametrize("attack, exercise", list(_score_params()))
def test_the_attacker_scores_nothing(graded, attack, exercise):
    row = graded["rows"][attack]
    assert float(row[f"{exercise}_test"]) == 0, row


@pytest.mark.parametrize("student", sorted(ATTACKS) + list(HONEST))
def test_no_hidden_test_or_solution_line_reaches_the_student(graded, student):
    out = graded["out"]
    feedback = feedback_text(out, student)
    assert feedback, f"no feedback for {student}"
    outputs = _outputs(_autograded(out, student))
    secret = _secrets(graded["folder"] / student)
    assert set(_hidden_lines()) & secret, "the hidden tests have lines to look for"
    for where, text in (("feedback", feedback), ("graded notebook's outputs", outputs)):
        leaked = sorted(line for line in secret if line in text)
        assert not leaked, f"{student}: lines of source/ in its {where}: {leaked[:3]}"
        # the search spells it in pieces: a whole one would come from the hidden tests
        # (the marker words do stand in the grader's own code, which the kernel reads)
        assert "manual_seed(101)" not in text, f"{student}: a hidden test in its {where}"


@pytest.mark.parametrize("student", sorted(ATTACKS) + list(HONEST))
def test_test_cells_carry_only_the_judges_verdict(graded, student):
    nb = _autograded(graded["out"], student)
    test_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(test_cells) == len(EXERCISES)
    for cell in test_cells:
        name = cell.metadata.nbgrader.grade_id
        outputs = cell.get("outputs", [])
        kinds = [o.output_type for o in outputs]
        assert outputs, f"{student}/{name}: no verdict"
        assert set(kinds) <= {"stream", "error"}, (student, name, kinds)
        assert kinds.count("stream") <= 1 and kinds.count("error") <= 1, (student, name, kinds)
        assert kinds[0] == "stream" or kinds == ["error"], (student, name, kinds)
        for output in outputs:
            if output.output_type == "stream":
                assert output.name == "stdout", (student, name, output)
                lines = output.text.splitlines()
                assert lines and all(line.startswith(TICK) for line in lines), \
                    (student, name, output.text[:500])
        assert MARK not in _output_text_of(cell), (student, name, _output_text_of(cell)[:500])
        if student in HONEST:
            assert kinds == ["stream"], (student, name, _output_text_of(cell)[-500:])


def test_test_cells_never_reach_the_attackers_kernel(graded):
    """The transformers see every cell the kernel runs: no test cell is among them."""
    out = graded["out"]
    printed = _outputs(_autograded(out, "input-transformer-prints-cells"), test_cells=False)
    assert f"{MARK}-CELL:" in printed, "the transformer saw the cells after its own"
    assert "nncourse.checks import" not in printed and "check_" not in printed
    dropped = _outputs(_autograded(out, "input-transformer-drops-tests"))
    assert f"{MARK}-DROPPED" not in dropped
    found = _printed(out, "searches-files-and-memory")
    for word in ("WALKED:", "STRINGS:", "SCANNED:"):
        assert word in found, found[-2000:]
    assert int(re.search(r"WALKED: (\d+)", found)[1]) > 100, found[-2000:]
    assert int(re.search(r"SCANNED: (\d+)", found)[1]) > 10 << 20, found[-2000:]
