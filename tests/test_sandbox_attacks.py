"""Hostile students against the sandboxed grader: a class of honest students and attackers.

The class is built here from the chapter 1 release notebook. Honest students hand in the
reference answers (each with a canary comment of their own); every attacker hands in the
blank release copy with one attack in the first answer cell, which prints whatever it
manages to read. Canaries sit where an attacker would look: a variable in the grader's
environment, a file in the grader's home, the honest students' notebooks, the hidden tests
and solutions of ``source/``. After one bounded run (two workers, short limits) the tests
check, attack by attack, that

- honest classmates keep their reference scores and every student has a row;
- no canary, hidden test or solution line appears in any feedback file or the report;
- no process the attackers started is alive, and no file they wrote is on the grader's
  disk (the course code, the grader's home, ``/tmp``);
- the course code, the output folder's record and ``grades.csv`` are as the grader left
  them, also after the delay that a detached process waited for.

``tests/run_unprivileged.sh`` runs this file as an unprivileged user.
"""
import copy
import csv
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from autograders import RELEASE, ROOT, SOURCE
from autograders.leaks import telling_lines
from autograders.sandbox import cgroup_dirs
from autograders.sample import submissions as sample_submissions
from notebook_cells import cell_index, feedback_text, guarded

AID = "ch01_module"
NB = f"{AID}.ipynb"
MAX = 12
MARK = "NNATTACK"
HONEST = ("honest-1", "honest-2", "honest-3")
GRADE_ARGS = ["--workers", "2", "--cell-timeout", "20", "--notebook-timeout", "60",
              "--memory", "1.5"]
# Where a sandboxed kernel may write: its own HOME and /tmp, both private tmpfs.
PRIVATE = ("/home/student", "/tmp")
# A detached process waits this long before it strikes: after the batch has ended.
DELAY_S = 8

# Each attack runs in the first answer cell and prints all it finds. {mark} names files
# and processes so that the tests can look for them afterwards.
PRELUDE = """\
import glob, os, re, signal, subprocess, sys, time
import nncourse
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(nncourse.__file__)))

def show(path):
    # one line a file (nbgrader keeps 1000 lines of output): its start and every canary,
    # hidden-test block and solution block found anywhere in it
    try:
        with open(path, errors="replace") as f:
            text = f.read()
        found = re.findall(r"[\w-]*canary-[0-9a-f]{16}|BEGIN HIDDEN TESTS[\s\S]{0,2000}"
                           r"|BEGIN SOLUTION[\s\S]{0,2000}", text)
        print("READ:", path, repr(text[:200]), "FOUND:", repr(found)[:20000])
    except Exception as exc:
        print("NOREAD:", path, type(exc).__name__)

def walk(top, depth=4):
    top_depth = top.rstrip("/").count("/")
    for folder, dirs, files in os.walk(top):
        if folder.count("/") - top_depth >= depth or folder.startswith(("/proc", "/sys")):
            dirs[:] = []
        for name in files:
            yield os.path.join(folder, name)
"""

ATTACKS = {
    # --- confidentiality: files and environment of the grader and of classmates ---------
    "reads-source-and-output": """
show(os.path.join(ROOT, "source", "ch01_module", "ch01_module.ipynb"))
show(os.path.join(ROOT, "source", "ch01_module", "mutants.py"))
for top in [ROOT, "/tmp", os.getcwd() + "/../../.."]:
    for path in walk(top):
        if path.endswith((".ipynb", ".db", ".json", ".csv", ".py")) and "/.venv/" not in path:
            show(path)
""",
    "reads-environment-and-home": """
print("ENV:", dict(os.environ))
for pid in os.listdir("/proc"):
    if pid.isdigit():
        show(f"/proc/{pid}/environ")
for home in ["/root", "/home", os.path.expanduser("~")]:
    for path in walk(home, depth=3):
        show(path)
""",
    # --- other students' grades ---------------------------------------------------------
    "rewrites-gradebooks-and-classmates": """
import sqlite3
for top in ["/tmp", ROOT]:
    for path in walk(top, depth=7):
        if path.endswith(".db"):
            try:
                db = sqlite3.connect(path)
                db.execute("UPDATE grade_cell SET source = 'assert False'")
                db.execute("UPDATE grade SET auto_score = 0")
                db.commit()
                print("WROTE:", path)
            except Exception as exc:
                print("NOWRITE:", path, type(exc).__name__)
        elif path.endswith(".ipynb") and not path.startswith(os.getcwd()):
            try:
                open(path, "w").write("{}")
                print("WROTE:", path)
            except Exception as exc:
                print("NOWRITE:", path, type(exc).__name__)
""",
    "detached-process-rewrites-later": """
code = '''
import os, time
os.setsid()
if os.fork():
    os._exit(0)
time.sleep({delay})
for top in ["/tmp", "{root}"]:
    for folder, dirs, files in os.walk(top):
        for name in files:
            if name in ("grades.csv", "gradebook.db") or name.endswith(".html"):
                try:
                    open(os.path.join(folder, name), "w").write("{mark} was here")
                except OSError:
                    pass
'''.replace("{root}", ROOT)
subprocess.Popen([sys.executable, "-c", code, "{mark}-detached"], start_new_session=True)
for i in range(20):
    subprocess.Popen(["sleep", "600", "{mark}"], start_new_session=True)
print("spawned")
""",
    "startup-file-and-planted-modules": """
evil = "import nncourse.checks as c\\nc.check_close = lambda *a, **k: 1 / 0  # {mark}\\n"
for home in [os.path.expanduser("~"), "/root", os.environ.get("HOME", "/")]:
    for rel in [".ipython/profile_default/startup/00-{mark}.py",
                ".config/ipython/profile_default/startup/00-{mark}.py"]:
        path = os.path.join(home, rel)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "w").write(evil)
            print("WROTE:", path)
        except OSError as exc:
            print("NOWRITE:", path, type(exc).__name__)
for folder in ["/tmp", os.getcwd(), ROOT, os.path.join(ROOT, "release", "ch01_module")]:
    for name in ["numpy.py", "torch.py", "{mark}.py"]:
        try:
            open(os.path.join(folder, name), "w").write("raise SystemExit  # {mark}")
            print("WROTE:", folder, name)
        except OSError as exc:
            print("NOWRITE:", folder, name, type(exc).__name__)
""",
    "edits-the-course-code": """
import nncourse.checks
for path in [nncourse.checks.__file__, nncourse.__file__]:
    try:
        with open(path, "a") as f:
            f.write("\\ncheck_close = None  # {mark}\\n")
        print("WROTE:", path)
    except OSError as exc:
        print("NOWRITE:", path, type(exc).__name__)
""",
    "injects-into-other-kernels": """
import ipykernel
from jupyter_client import BlockingKernelClient
mine = os.path.abspath(ipykernel.get_connection_file())
for top in ["/tmp", os.path.expanduser("~"), "/root/.local/share/jupyter/runtime"]:
    for path in walk(top, depth=5):
        if path.endswith(".json") and os.path.abspath(path) != mine \
                and "/.venv/" not in path and "site-packages" not in path:
            try:
                kc = BlockingKernelClient(connection_file=path)
                kc.load_connection_file()
                kc.start_channels()
                msg_id = kc.execute("import os; os._exit(1)")
                reply = kc.get_shell_msg(timeout=1)   # only a live kernel answers
                if reply["parent_header"].get("msg_id") == msg_id:
                    print("INJECTED:", path)
            except Exception as exc:
                print("NOINJECT:", path, type(exc).__name__)
import socket
mine = set()  # the sockets this kernel holds itself (one listens on a random port)
for fd in os.listdir("/proc/self/fd"):
    try:
        mine.add(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        pass
own = set()   # their ports, from the table of sockets by inode
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        for row in open(table).read().splitlines()[1:]:
            fields = row.split()
            if f"socket:[{fields[9]}]" in mine:
                own.add(int(fields[1].rsplit(":", 1)[1], 16))
    except OSError:
        pass
for port in range(1024, 65536, 97):
    s = socket.socket()
    s.settimeout(0.001)
    if s.connect_ex(("127.0.0.1", port)) == 0 and port not in own:
        print("OPEN:", port)
    s.close()
""",
    "signals-every-process": """
me = os.getpid()
for sig in (signal.SIGSTOP, signal.SIGKILL):
    hit = []
    for pid in range(2, 70000):
        if pid != me:
            try:
                os.kill(pid, sig)
                hit.append(pid)
            except OSError:
                pass
    print("SIGNALLED:", sig, len(hit))
try:
    os.killpg(0, signal.SIGSTOP)   # our own group (the sandbox leads its own session)
except OSError as exc:
    print("NOKILLPG:", type(exc).__name__)
""",
    "shuts-inherited-sockets": """
import socket, ipykernel
mine = os.path.dirname(os.path.abspath(ipykernel.get_connection_file()))
for fd in sorted(int(name) for name in os.listdir("/proc/self/fd")):
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        continue
    names = []
    for get in (sock.getsockname, sock.getpeername):
        try:
            names.append(get())
        except OSError:
            pass
    paths = [n for n in names if isinstance(n, str) and n]
    if sock.family == socket.AF_UNIX and any(not p.startswith(mine) for p in paths):
        print("INHERITED:", fd, paths)   # a socket of the zygote, the judge, a classmate
        sock.shutdown(socket.SHUT_RDWR)
print("SOCKETS CHECKED")
""",
    # --- availability -------------------------------------------------------------------
    "fork-bomb": """
children = 0
try:
    while children < 1000:
        pid = os.fork()
        if pid == 0:
            os.execv("/bin/sleep", ["sleep", "300", "{mark}"])
        children += 1
except OSError as exc:
    print("FORK STOPPED:", children, type(exc).__name__)
""",
}


def _attack_cell(name):
    return guarded(PRELUDE + ATTACKS[name].replace("{mark}", MARK).replace("{delay}", str(DELAY_S)))


def _canaries():
    return {"env": "env-canary-" + secrets.token_hex(8),
            "home": "home-canary-" + secrets.token_hex(8),
            **{student: f"{student}-canary-{secrets.token_hex(8)}" for student in HONEST}}


def _build_class(folder, canaries):
    reference = sample_submissions(AID)["reference"][NB]
    for student in HONEST:
        nb = copy.deepcopy(reference)
        cell = nb.cells[cell_index(nb, "ex1_two_layer")]
        cell.source = f"# {canaries[student]}\n" + cell.source
        (folder / student / AID).mkdir(parents=True)
        nbformat.write(nb, folder / student / AID / NB)
    for student, (raw, _) in _broken_submissions().items():
        (folder / student / AID).mkdir(parents=True)
        (folder / student / AID / NB).write_bytes(raw)
    # a link to the source notebook, solutions and all, handed in as one's own
    (folder / "links-to-source" / AID).mkdir(parents=True)
    (folder / "links-to-source" / AID / NB).symlink_to(SOURCE / AID / NB)
    for name in ATTACKS:
        nb = nbformat.read(RELEASE / AID / NB, as_version=4)
        cell = nb.cells[cell_index(nb, "ex1_two_layer")]
        cell.source = _attack_cell(name)
        (folder / name / AID).mkdir(parents=True)
        nbformat.write(nb, folder / name / AID / NB)


# Submissions that once sank the batch or lost a row: {student: (bytes, expected status)}.
def _broken_submissions():
    reference = sample_submissions(AID)["reference"][NB]
    text = nbformat.writes(reference)
    surrogate = copy.deepcopy(reference)
    surrogate.cells[cell_index(surrogate, "ex2_count")].source += "\nx = 'PLACEHOLDER'\n"
    surrogate = json.dumps(surrogate).replace("PLACEHOLDER", "\\ud800").encode()
    deep = copy.deepcopy(reference)
    deep.cells[cell_index(deep, "ex2_count")].source += (
        "\ny = " + "(" * 100_000 + "1" + ")" * 100_000 + "\n")
    accented = text.replace("Exercise 1", "Exerc\u00eece 1")
    huge = copy.deepcopy(reference)
    huge.cells.append(nbformat.v4.new_markdown_cell("x" * (51 << 20)))
    return {
        "lone-surrogate": (surrogate, "repaired"),
        "deep-expression": (nbformat.writes(deep).encode(), "ok"),
        "latin-1-even": (accented.encode("latin-1"), "repaired"),
        "latin-1-odd": ((accented + " ").encode("latin-1"), "repaired"),
        "huge-notebook": (nbformat.writes(huge).encode(), "unreadable"),
        # two folders whose names give the same safe id
        "same id": (text.encode(), "ok"),
        "same_id": (text.encode(), "ok"),
    }


def _tree_digest(folder):
    digest = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


def _marked_processes():
    """Processes the attackers started, and kernels (which carry the zygote's command
    line) still alive."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            cmdline = proc.info["cmdline"] or []
            if any(MARK in part for part in cmdline) or (
                    "autograders.zygote" in cmdline and proc.ppid() == 1):
                found.append((proc.pid, " ".join(cmdline)[:200]))
        except psutil.Error:
            pass
    return found


def _kernel_cgroups():
    """The kernels' cgroups on this machine now."""
    parents = {os.path.dirname(d) for d in cgroup_dirs("x").values()}
    return {path for parent in parents for path in Path(parent).glob("nncourse-nnk-*")}


def _empty_cgroups_that_stay(before, seconds=3.0):
    """Kernel cgroups made since ``before`` (a set of ``_kernel_cgroups``) with no process
    in them that are still there ``seconds`` later: those of other runs on the machine
    (another test's, one killed long ago) are not this batch's."""
    def empty():
        found = set()
        for path in _kernel_cgroups() - before:
            try:
                if not (path / "cgroup.procs").read_text().strip():
                    found.add(path)
            except OSError:
                pass
        return found
    first = empty()
    if first:
        time.sleep(seconds)
    return first & empty()


def _marked_files():
    """Files whose name or start carries the mark, where an attacker could have left them."""
    hits = []
    for top in ["/tmp", str(ROOT), os.path.expanduser("~")]:
        for folder, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if d not in (".venv", ".git", "node_modules")]
            for name in files:
                if MARK in name:
                    hits.append(os.path.join(folder, name))
    return hits


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    base = tmp_path_factory.mktemp("attacks")
    folder, out, home = base / "submitted", base / "graded", base / "home"
    home.mkdir()
    canaries = _canaries()
    (home / "secret.txt").write_text(canaries["home"])
    _build_class(folder, canaries)
    code_before = _tree_digest(ROOT / "nncourse")
    cgroups_before = _kernel_cgroups()
    # the grader's scratch and the kernels' job folders go in a folder of this test's own
    scratch = Path(tempfile.mkdtemp(prefix="nna-", dir="/tmp"))
    env = dict(os.environ, PYTHONWARNINGS="ignore", HOME=str(home), TMPDIR=str(scratch),
               NNCOURSE_GRADER_SECRET=canaries["env"])
    began = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "autograders", "grade", str(folder),
                           "--assignment", AID, "--out", str(out), *GRADE_ARGS],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    graded = {p: p.stat().st_mtime_ns for p in [out / "grades.csv", out / "gradebook.db"]}
    csv_text = (out / "grades.csv").read_text()
    # the detached process strikes DELAY_S after its notebook ran: wait past that
    time.sleep(max(0.0, DELAY_S + 2 - (time.monotonic() - began)))
    with open(out / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    yield {"out": out, "rows": rows, "canaries": canaries, "proc": proc, "home": home,
           "graded": graded, "csv": csv_text, "code_before": code_before,
           "cgroups_before": cgroups_before,
           "scratch": scratch}
    shutil.rmtree(scratch, ignore_errors=True)


def _printed(out, student):
    """What the attack printed: the outputs of its cell in the autograded notebook."""
    nb = nbformat.read(out / "autograded" / student / AID / NB, as_version=4)
    cell = nb.cells[cell_index(nb, "ex1_two_layer")]
    return "".join(o.get("text", "") for o in cell.get("outputs", []))


def test_every_student_has_a_row_and_honest_ones_keep_their_scores(attacked):
    rows = attacked["rows"]
    broken = set(_broken_submissions()) - {"same id", "same_id"} | {"same_id", "same_id-2",
                                                                   "links-to-source"}
    assert set(rows) == set(HONEST) | set(ATTACKS) | broken, attacked["proc"].stdout[-2000:]
    for student in HONEST:
        assert rows[student]["status"] == "ok", rows[student]
        assert float(rows[student]["score"]) == MAX, rows[student]
    assert "sandbox" in attacked["proc"].stdout and "NO SANDBOX" not in attacked["proc"].stdout


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_nothing_secret_in_the_attackers_feedback(attacked, attack):
    out, canaries = attacked["out"], attacked["canaries"]
    text = feedback_text(out, attack)
    printed = _printed(out, attack)
    assert text, f"no feedback for {attack}"
    lines = printed.splitlines()
    assert "ATTACK DONE" in lines, printed[-2000:]
    assert not [line for line in lines if line.startswith("ATTACK FAILED:")], printed[-2000:]
    for name, canary in canaries.items():
        assert canary not in text, f"{attack} read the {name} canary"
    source = nbformat.read(SOURCE / AID / NB, as_version=4)
    leaked = [line for line in telling_lines(source) if line in text]
    assert not leaked, f"{attack} shows lines of source/: {leaked[:3]}"
    for word in ("INJECTED:", "OPEN:"):
        assert not [line for line in lines if line.startswith(word)], f"{attack}: {word}"
    # writes succeed only in the sandbox's own private folders, which die with it
    for line in printed.splitlines():
        if line.startswith("WROTE:"):
            assert line.split()[1].startswith(PRIVATE), f"{attack}: {line}"
    assert not any(canary in printed for canary in canaries.values())


def test_the_report_holds_no_canary(attacked):
    text = (attacked["out"] / "report.html").read_text()
    for name in ("env", "home"):
        assert attacked["canaries"][name] not in text
    assert "sandbox of its own" in text


def test_nothing_outlives_the_batch(attacked):
    assert _marked_processes() == []
    assert _marked_files() == []
    left = list(attacked["scratch"].iterdir())
    assert not left, f"the grader's scratch or kernels' job folders were left: {left}"
    # the cgroups of the batch's kernels (root with cgroup v1) are gone with them; other runs
    # of this test session may hold some of their own, which have processes in them
    assert not _empty_cgroups_that_stay(attacked["cgroups_before"]), \
        "kernels' cgroups were left behind"
    assert not [p for p in attacked["home"].rglob("*") if MARK in p.name]
    assert _tree_digest(ROOT / "nncourse") == attacked["code_before"]


def test_the_record_is_untouched_after_the_batch(attacked):
    out = attacked["out"]
    for path, mtime in attacked["graded"].items():
        assert path.stat().st_mtime_ns == mtime, f"{path} changed after grade exited"
    assert (out / "grades.csv").read_text() == attacked["csv"]
    assert MARK not in attacked["csv"]


def test_broken_submissions_get_a_row_each(attacked):
    rows = attacked["rows"]
    for student, (_, status) in _broken_submissions().items():
        if student.startswith("same"):
            continue
        assert rows[student]["status"] == status, (student, rows[student])
    for student in ("lone-surrogate", "latin-1-even", "latin-1-odd"):
        assert float(rows[student]["score"]) == MAX, rows[student]
    assert "invalid-unicode" in rows["lone-surrogate"]["flags"]
    assert "latin-1" in rows["latin-1-even"]["flags"]
    assert "latin-1" in rows["latin-1-odd"]["flags"]
    assert rows["links-to-source"]["status"] == "missing", rows["links-to-source"]
    assert float(rows["links-to-source"]["score"]) == 0
    assert not list((attacked["out"] / "submitted").rglob("*")) or not any(
        p.is_symlink() for p in (attacked["out"] / "submitted").rglob("*"))
    # the same id twice: both are graded, both flagged
    for student in ("same_id", "same_id-2"):
        assert rows[student]["status"] == "ok" and "id-clash" in rows[student]["flags"]
        assert float(rows[student]["score"]) == MAX


def test_the_fork_bomb_met_the_process_limit(attacked):
    assert "FORK STOPPED:" in _printed(attacked["out"], "fork-bomb")


def test_a_kernel_holds_no_socket_of_another_process(attacked):
    """A kernel forked from the zygote once held the zygote's connections to the other
    kernels' proxies and to the judges: shutting them down killed a classmate's kernel
    and stalled the batch until the notebook's time limit."""
    printed = _printed(attacked["out"], "shuts-inherited-sockets")
    assert "SOCKETS CHECKED" in printed and "INHERITED:" not in printed, printed


def test_signals_reach_nothing_outside(attacked):
    assert "SIGNALLED:" in _printed(attacked["out"], "signals-every-process")
    # the grader, its workers and the zygote lived on: the honest rows are all there
    for student in HONEST:
        assert float(attacked["rows"][student]["score"]) == MAX
