"""Grading on a Dask cluster: ``grade --cluster tcp://host:8786`` or ``--cluster local:N``.

No filesystem is assumed to be shared between the instructor's machine and the workers:

- **the course travels once per worker**, in a worker plugin (``GradingCourse``): the
  nbgrader config, the assignments' extra files and the settings. On each Dask worker it
  becomes what the instructor's machine runs locally: a zygote and one pool of grading
  processes (``autograders.pool``) per worker thread, each kernel in its sandbox. They
  start while the instructor's machine prepares the record gradebook, which follows in
  a second plugin (``RecordGradebook``: the assignments and their grade cells). The
  scheduler keeps both and gives them to every worker that joins or is restarted;
- **each submission travels as a task** (``grade_on_worker``): its repaired notebooks go
  out as bytes, and the ``JobResult`` comes back with the autograded notebooks and the
  feedback as bytes. Only the instructor's process writes the record gradebook, the CSV
  and the report, exactly as after a local run, so the results are the same.

Faults:

- a grading process that dies on a worker is replaced there and the submission tried
  once more, as on one machine;
- a Dask worker that dies (its machine, its job on Slurm) has its submissions run again
  elsewhere by the scheduler; one that keeps killing workers ends as ``KilledWorker``
  after the scheduler's ``distributed.scheduler.allowed-failures`` (``local:N`` sets it
  to ``ALLOWED_FAILURES``) and its row becomes ``error``;
- a scheduler that cannot be reached, that has no workers, or whose workers run other
  code than this machine's is a ``ClusterError`` before anything is written.
"""
import hashlib
import os
import queue
import shutil
import tempfile
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from distributed import WorkerPlugin

from autograders import ROOT, extra_files
from autograders.pool import Pool, worker_settings
from autograders.result import JobResult

PLUGIN_NAME = "nncourse-grading"
RECORD_PLUGIN = "nncourse-record"
ALLOWED_FAILURES = 2       # workers a submission may kill before its row is an error
CONNECT_TIMEOUT = 10       # seconds to reach the scheduler
WORKERS_TIMEOUT = 60       # seconds to wait for the first worker
CODE_FOLDERS = ("autograders", "nncourse")


class ClusterError(RuntimeError):
    """The cluster cannot grade: unreachable, without workers, or running other code."""


@dataclass
class CoursePayload:
    """Everything a worker needs to grade, sent to each worker once."""
    settings: dict         # the fields of GradeSettings
    config: bytes          # the record course's nbgrader_config.py
    files: dict            # {assignment id: {relative path: bytes}}: the extra files
    code: str              # fingerprint() of the instructor's machine


def fingerprint():
    """What must be the same on every worker for the grades to be the same: this
    project's code and the versions of torch, torchvision, nbgrader and Python."""
    import platform

    import nbgrader
    import torch
    import torchvision
    digest = hashlib.sha256()
    for folder in CODE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    for version in (torch.__version__, torchvision.__version__, nbgrader.__version__,
                    platform.python_version()):
        digest.update(version.encode() + b"\0")
    return digest.hexdigest()[:16]


def worker_problems(sandbox):
    """Why this Dask worker cannot grade (None when it can): run on every worker."""
    import multiprocessing
    if multiprocessing.current_process().daemon:
        return ("the worker is a daemon process and cannot start grading processes: "
                "start it with DASK_DISTRIBUTED__WORKER__DAEMON=False (docs/cluster.md)")
    if sandbox:
        from autograders.sandbox import probe
        missing = probe()
        if missing:
            return f"no sandbox: {missing}"
    return None


def read_tree(folder):
    """``{relative path: bytes}`` of the files under ``folder`` (none when it is None)."""
    if not folder or not Path(folder).is_dir():
        return {}
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def write_tree(files, folder):
    folder = Path(folder)
    for rel, data in files.items():
        path = (folder / rel).resolve()
        if folder.resolve() not in path.parents:
            raise ValueError(f"a returned file outside its folder: {rel}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# ----------------------------------------------------------------------------------------
# On each Dask worker


class GradingCourse(WorkerPlugin):
    """The course on one Dask worker: written to a folder of its own, with a zygote and
    one grading pool per worker thread; gone again at teardown."""

    name = PLUGIN_NAME

    def __init__(self, payload):
        self.payload = payload

    def setup(self, worker):
        from autograders.settings import GradeSettings

        payload = self.payload
        if payload.code != fingerprint():
            raise ClusterError(f"worker {worker.address} runs other code than the "
                               "instructor's machine (install the same nn-course, torch "
                               "and nbgrader there)")
        problem = worker_problems(payload.settings.get("sandbox"))
        if problem:
            raise ClusterError(f"worker {worker.address}: {problem}")
        threads = max(1, worker.state.nthreads)
        settings = GradeSettings(**dict(payload.settings, workers=threads, quiet=True))
        self.folder = Path(tempfile.mkdtemp(prefix="nncourse-dask-"))
        course = self.folder / "course"
        course.mkdir()
        (course / "nbgrader_config.py").write_bytes(payload.config)
        self.record = course / "gradebook.db"   # written by the first job (``grade``)
        sources = {aid: write_tree(files, course / "source" / aid)
                   for aid, files in payload.files.items()}
        self.zygote = self.zygote_done = None
        if settings.fork:
            from autograders.zygote import Zygote
            self.zygote = Zygote(self.folder / "zygote",
                                 sandbox=asdict(settings.sandbox_limits)
                                 if settings.sandbox else None).start()
            self.zygote_done = threading.Event()
            threading.Thread(target=self.zygote.watch, args=(self.zygote_done,),
                             daemon=True).start()
        (self.folder / "workers").mkdir()
        shared = worker_settings(settings, self.folder / "workers", self.record,
                                 sources, self.zygote.socket if self.zygote else None,
                                 workers=threads)
        self.pools = queue.Queue()
        self.all_pools = [Pool(shared, 1) for _ in range(threads)]
        for pool in self.all_pools:
            self.pools.put(pool)
        self._ready = threading.Lock()

    def grade(self, job, notebooks, record):
        """Grade one submission here (``record``: the record gradebook's bytes); return
        its ``JobResult`` and its files."""
        with self._ready:
            if not self.record.exists():
                self.record.with_suffix(".tmp").write_bytes(record)
                self.record.with_suffix(".tmp").replace(self.record)
            if self.zygote is not None:
                self.zygote.wait_ready()
        staged = Path(tempfile.mkdtemp(prefix="job-", dir=self.folder))
        for name, data in notebooks.items():
            (staged / Path(name).name).write_bytes(data)
        job = dict(job, staged=str(staged))
        got = []
        pool = self.pools.get()
        try:
            pool.run([job], lambda _, result: got.append(result))
        finally:
            self.pools.put(pool)
            shutil.rmtree(staged, ignore_errors=True)
        result = got[0]
        files = {"autograded": read_tree(result.autograded),
                 "feedback": read_tree(result.feedback)}
        for folder in (result.autograded, result.feedback):
            if folder:
                shutil.rmtree(folder, ignore_errors=True)
        return replace(result, autograded=None, feedback=None), files

    def teardown(self, worker):
        for pool in getattr(self, "all_pools", []):
            pool.close()
        if getattr(self, "zygote", None) is not None:
            self.zygote_done.set()
            self.zygote.stop()
        if getattr(self, "folder", None):
            shutil.rmtree(self.folder, ignore_errors=True)


class RecordGradebook(WorkerPlugin):
    """The record gradebook's bytes, as prepared for this run, on every worker."""

    name = RECORD_PLUGIN

    def __init__(self, data):
        self.data = data


def grade_on_worker(job, notebooks):
    """The task: grade one submission with this worker's ``GradingCourse``."""
    from distributed import get_worker
    plugins = get_worker().plugins
    course, record = plugins.get(PLUGIN_NAME), plugins.get(RECORD_PLUGIN)
    if course is None or record is None:
        raise ClusterError("this worker has no course: its set-up failed (see its log)")
    return course.grade(job, notebooks, record.data)


# ----------------------------------------------------------------------------------------
# On the instructor's machine


def _connect(address):
    import logging

    import dask
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if address.startswith("local:"):
            try:
                n = int(address.split(":", 1)[1])
            except ValueError:
                raise ClusterError(f"--cluster {address}: write local:N, N workers") from None
            # grading processes are children of the worker: it must not be a daemon
            # a worker holds only the submissions it grades, so that one that dies
            # counts against those alone
            dask.config.set({"distributed.worker.daemon": False,
                             "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                             "distributed.scheduler.worker-saturation": 1.0})
            cluster = LocalCluster(n_workers=max(1, n), threads_per_worker=1,
                                   processes=True, dashboard_address=None,
                                   silence_logs=logging.ERROR)
            return Client(cluster, timeout=CONNECT_TIMEOUT), cluster
        return Client(address, timeout=CONNECT_TIMEOUT), None
    except ClusterError:
        raise
    except Exception as exc:  # noqa: BLE001: OSError, TimeoutError, a bad address
        if cluster is not None:
            cluster.close()
        raise ClusterError(f"cannot reach the Dask scheduler at {address} "
                           f"({type(exc).__name__}: {exc})") from None


def _check_workers(client, address, sandbox):
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
    except Exception:  # noqa: BLE001
        raise ClusterError(f"the Dask scheduler at {address} has no workers "
                           f"(waited {WORKERS_TIMEOUT} s)") from None
    mine = fingerprint()
    bad = [f"{w}: runs other code than this machine (install the same nn-course, torch "
           "and nbgrader there)" for w, code in client.run(fingerprint).items()
           if code != mine]
    bad += [f"{w}: {problem}" for w, problem in client.run(worker_problems, sandbox).items()
            if problem]
    if bad:
        raise ClusterError("the cluster's workers cannot grade:\n  " + "\n  ".join(bad))


def _close(client, cluster):
    try:
        if client is not None:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def course_payload(settings, record_folder, assignment_ids, sources):
    """The payload for the workers, from the record folder (its config)."""
    fields = {k: v for k, v in asdict(settings).items() if k != "cluster"}
    files = {aid: {str(p.relative_to(sources[aid])): p.read_bytes()
                   for p in extra_files(sources[aid])}
             for aid in assignment_ids}
    record_folder = Path(record_folder)
    return CoursePayload(fields, (record_folder / "nbgrader_config.py").read_bytes(),
                         files, fingerprint())


class ClusterPool:
    """The interface of ``autograders.pool.Pool``, over a Dask cluster."""

    def __init__(self, address, settings):
        """Connect to ``address`` (``local:N`` starts a LocalCluster of N processes) and
        check that its workers can grade; a ``ClusterError`` otherwise. Nothing is
        written."""
        self.client, self.cluster = _connect(address)
        try:
            _check_workers(self.client, address, settings.sandbox)
        except BaseException:
            self.close()
            raise
        self.returned = None

    def send_course(self, payload, returned):
        """Give every worker the course (workers that join later get it too);
        ``returned``: where the files that come back are written."""
        self.returned = Path(returned)
        self.client.register_plugin(GradingCourse(payload), name=PLUGIN_NAME)

    def send_record(self, gradebook):
        """The record gradebook, prepared: to every worker once, for all its jobs (a
        plugin, not scattered data: the scheduler gives it to restarted workers too)."""
        self.client.register_plugin(RecordGradebook(Path(gradebook).read_bytes()),
                                    name=RECORD_PLUGIN)

    def run(self, jobs, on_result):
        """Grade ``jobs`` on the cluster; call ``on_result(job, result)`` for each, as
        they finish, once each."""
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        futures = {}
        for job in jobs:
            notebooks = {p.name: p.read_bytes() for p in sorted(Path(job["staged"]).iterdir())
                         if p.is_file()}
            remote = {k: v for k, v in job.items() if k != "staged"}
            token = os.urandom(4).hex()
            future = self.client.submit(grade_on_worker, remote, notebooks, pure=False,
                                        key=f"grade-{job['assignment']}-{job['student']}-"
                                            f"{token}")
            futures[future] = job
        for future in as_completed(futures):
            job = futures[future]
            try:
                result, files = future.result()
                folder = self.returned / job["student"] / job["assignment"]
                result.autograded = str(write_tree(files["autograded"], folder / "autograded"))
                result.feedback = str(write_tree(files["feedback"], folder / "feedback"))
            except KilledWorker:
                result = JobResult(job["student"], job["assignment"], error=(
                    "the Dask workers grading this submission died each time it was tried"))
            except Exception as exc:  # noqa: BLE001: the row's error, not the batch's
                result = JobResult(job["student"], job["assignment"],
                                   error=f"on the cluster: {type(exc).__name__}: {exc}"[:2000])
            on_result(job, result)
            future.release()

    def close(self):
        """Take the course off the workers (their zygotes and pools stop) and let go."""
        if self.client is None:
            return
        if self.returned is not None:
            for name in (RECORD_PLUGIN, PLUGIN_NAME):
                try:
                    self.client.unregister_worker_plugin(name)
                except Exception:  # noqa: BLE001: what is not there needs no stopping
                    pass
        _close(self.client, self.cluster)
        self.client = self.cluster = None
