"""`grade --cluster`: the class grader on Dask workers gives the results of a local run.

A real ``dask scheduler`` and two ``dask worker`` processes (each with its nanny) are
started on loopback by the fixture, each in a session of its own; the tests grade chapter
1's sample submissions through ``python -m autograders grade --cluster tcp://...`` as an
instructor would, and compare ``grades.csv`` byte for byte with a local run of the same
class. One worker is killed mid-run (its session: nanny, worker, zygote, kernels), and a
poison submission kills every worker that grades it (``tests/cluster_faults.py``). At the
end no process that the cluster started is left.
"""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from autograders import ROOT
from autograders.sample import submissions as sample_submissions

pytest.importorskip("distributed")  # the [cluster] extra: make test installs it

AID = "ch01_module"
NB = f"{AID}.ipynb"
STUDENTS = {"alice": "reference", "bob": "blank", "carol": "mutant-1", "dave": "mutant-2",
            "erin": "reference", "frank": "mutant-3"}
BIN = Path(sys.executable).parent
ARGS = ["--cell-timeout", "20", "--notebook-timeout", "120", "--memory", "1.5"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_class(folder, extra=()):
    subs = sample_submissions(AID)
    for student, kind in list(STUDENTS.items()) + list(extra):
        path = Path(folder, student, AID)
        path.mkdir(parents=True)
        nbformat.write(subs[kind][NB], path / NB)
    return folder


def venv_env(**extra):
    """The environment with the venv's bin/ first on PATH (nbgrader runs alembic)."""
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", **extra)


def grade(submitted, out, *extra, timeout=900):
    return subprocess.run([sys.executable, "-m", "autograders", "grade", str(submitted),
                           "--out", str(out), *ARGS, *extra], cwd=ROOT, env=venv_env(),
                          capture_output=True, text=True, timeout=timeout)


def rows(out):
    return Path(out, "grades.csv").read_text().splitlines()


class Cluster:
    """A scheduler and workers on loopback, each in a session of its own."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        # every process the cluster starts inherits this mark, orphans included
        token = f"{os.getpid()}-{self.port}"
        self.mark = f"NNCOURSE_TEST_CLUSTER={token}"
        self.env = venv_env(NNCOURSE_TEST_CLUSTER=token,
                            DASK_DISTRIBUTED__WORKER__DAEMON="False",
                            DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="1",
                            DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION="1.0",
                            PYTHONPATH=str(ROOT))
        self.procs = {}
        self.seen = set()   # every process of the cluster ever seen (pid, create time)
        self._start("scheduler", [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                                  "--port", str(self.port), "--no-dashboard"])
        for name in ("w1", "w2"):
            self._start(name, [str(BIN / "dask"), "worker", self.address, "--nthreads", "1",
                               "--nworkers", "1", "--name", name, "--no-dashboard",
                               "--preload", str(ROOT / "tests" / "cluster_faults.py"),
                               "--local-directory", str(self.folder / name)])
        self.wait_for_workers(2)

    def _start(self, name, argv):
        log = open(self.folder / f"{name}.log", "w")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                            env=self.env, start_new_session=True,
                                            cwd=self.folder)
        log.close()

    def client(self):
        from distributed import Client
        return Client(self.address, timeout=30)

    def wait_for_workers(self, n):
        with self.client() as client:
            client.wait_for_workers(n, timeout=120)

    def note_processes(self, names=None):
        """Remember every process of the cluster alive now (children included); return
        those of ``names``."""
        found = set()
        for name, proc in self.procs.items():
            try:
                tree = [psutil.Process(proc.pid)]
                tree += tree[0].children(recursive=True)
            except psutil.NoSuchProcess:
                continue
            for p in tree:
                try:
                    key = (p.pid, p.create_time())
                except psutil.NoSuchProcess:
                    continue
                self.seen.add(key)
                if names is None or name in names:
                    found.add(key)
        return found

    def kill(self, name):
        """The machine of worker ``name`` goes down: its whole session at once (what
        another session holds, the zygote and its kernels, must end by itself). Return
        the processes it had."""
        tree = self.note_processes([name])
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait(30)
        return tree

    def stop(self):
        """Workers first, then the scheduler; what does not stop in 30 s is killed."""
        self.note_processes()
        for names in (("w1", "w2"), ("scheduler",)):
            for name in names:
                if self.procs[name].poll() is None:
                    self.procs[name].terminate()
            for name in names:
                try:
                    self.procs[name].wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(self.procs[name].pid, signal.SIGKILL)
                    self.procs[name].wait(10)

    def marked(self):
        """The processes alive now that carry the cluster's mark in their environment."""
        found = set()
        for p in psutil.process_iter():
            try:
                with open(f"/proc/{p.pid}/environ", "rb") as f:
                    if self.mark.encode() in f.read().split(b"\0"):
                        found.add((p.pid, p.create_time()))
            except (OSError, psutil.NoSuchProcess):
                pass
        return found

    def left(self, wait=30, among=None):
        """The processes of the cluster (or of ``among``) still alive, after waiting up
        to ``wait`` s."""
        deadline = time.monotonic() + wait
        while True:
            alive = []
            for pid, created in (self.seen | self.marked() if among is None else among):
                try:
                    p = psutil.Process(pid)
                    if p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE:
                        alive.append(" ".join(p.cmdline())[:200])
                except psutil.NoSuchProcess:
                    pass
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.5)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The class graded on this machine, the reference for every cluster run."""
    folder = tmp_path_factory.mktemp("local")
    submitted = write_class(folder / "submitted")
    done = grade(submitted, folder / "out", "--workers", "2")
    assert done.returncode == 0, done.stderr
    return folder / "out"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield c
    finally:
        c.stop()
        left = c.left()
        assert not left, f"processes of the cluster left behind: {left}"


def test_a_cluster_run_gives_the_local_grades_byte_for_byte(local_run, cluster, tmp_path):
    submitted = write_class(tmp_path / "submitted")
    done = grade(submitted, tmp_path / "out", "--cluster", cluster.address)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"on the Dask cluster {cluster.address}" in done.stdout
    assert Path(tmp_path / "out" / "grades.csv").read_bytes() == \
        Path(local_run / "grades.csv").read_bytes()
    for student in STUDENTS:  # feedback and autograded notebooks came back
        assert (tmp_path / "out" / "feedback" / student / AID / f"{AID}.html").exists()
        assert (tmp_path / "out" / "autograded" / student / AID / NB).exists()
    cluster.note_processes()
    with cluster.client() as client:  # the course was taken off the workers again
        plugins = client.run(lambda dask_worker: sorted(dask_worker.plugins))
    assert all("nncourse-grading" not in names for names in plugins.values()), plugins


def test_a_poison_submission_becomes_an_error_and_the_batch_goes_on(local_run, cluster,
                                                                    tmp_path):
    submitted = write_class(tmp_path / "submitted", extra=[("poison", "reference")])
    done = grade(submitted, tmp_path / "out", "--cluster", cluster.address)
    assert done.returncode == 0, done.stdout + done.stderr
    got = rows(tmp_path / "out")
    poison = [r for r in got if r.startswith("poison,")]
    assert len(poison) == 1 and ",error," in poison[0], poison
    assert [r for r in got if not r.startswith("poison,")] == rows(local_run)
    cluster.wait_for_workers(2)  # the nannies started the killed workers again


def test_a_worker_killed_mid_run_loses_and_doubles_nothing(local_run, cluster, tmp_path):
    submitted = write_class(tmp_path / "submitted")
    proc = subprocess.Popen([sys.executable, "-m", "autograders", "grade", str(submitted),
                             "--out", str(tmp_path / "out"), *ARGS,
                             "--cluster", cluster.address], cwd=ROOT, env=venv_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines, killed, tree = [], None, set()
    with cluster.client() as client:
        for line in proc.stdout:
            lines.append(line)
            if killed is None and "[1/" in line:
                # kill a worker that is grading a submission right now
                deadline = time.monotonic() + 60
                while killed is None and time.monotonic() < deadline:
                    busy = [w for w, tasks in client.processing().items() if tasks]
                    names = {w: info["name"] for w, info in
                             client.scheduler_info()["workers"].items()}
                    if busy:
                        killed = names[busy[0]]
                        tree = cluster.kill(killed)
                    else:
                        time.sleep(0.05)
    assert proc.wait(600) == 0, "".join(lines)
    assert killed, "no worker was busy after the first result: " + "".join(lines)
    assert rows(tmp_path / "out") == rows(local_run)
    assert Path(tmp_path / "out" / "grades.csv").read_bytes() == \
        Path(local_run / "grades.csv").read_bytes()
    assert len(tree) >= 4, tree  # nanny, worker, grading process, zygote at least
    left = cluster.left(among=tree)
    assert not left, f"the killed worker's processes left behind: {left}"


def test_local_cluster_gives_the_local_grades(local_run, tmp_path):
    submitted = write_class(tmp_path / "submitted")
    done = grade(submitted, tmp_path / "out", "--cluster", "local:2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert Path(tmp_path / "out" / "grades.csv").read_bytes() == \
        Path(local_run / "grades.csv").read_bytes()


def test_an_unreachable_scheduler_is_exit_1_with_nothing_written(tmp_path):
    submitted = write_class(tmp_path / "submitted")
    address = f"tcp://127.0.0.1:{free_port()}"
    done = grade(submitted, tmp_path / "out", "--cluster", address, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"cannot reach the Dask scheduler at {address}" in done.stderr
    assert not (tmp_path / "out").exists()
