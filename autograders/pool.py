"""The grading workers of one machine: a pool of processes, each an nbgrader course of its
own (``autograders.worker``), fed one submission at a time. ``autograders.grade`` uses one
on the instructor's machine; ``autograders.cluster`` one on every Dask worker."""
import json
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict
from pathlib import Path

from autograders.result import JobResult


def worker_settings(settings, scratch, record_db, sources, zygote_socket, workers=None):
    """What every grading worker process needs: its folders, the record gradebook to copy,
    the assignments' source folders (``{assignment id: folder}``), the zygote's socket, and
    the limits of ``settings``; ``workers`` processes share this machine's cores."""
    threads = max(1, (os.cpu_count() or 1) // (workers or settings.workers))
    return {
        "owner": os.getpid(),   # the workers end with it
        "scratch": str(scratch),
        "config": str(Path(record_db).parent / "nbgrader_config.py"),
        "gradebook": str(record_db),
        "sources": {aid: str(folder) for aid, folder in sources.items()},
        "zygote_socket": zygote_socket,
        "cell_timeout": settings.cell_timeout,
        "notebook_timeout": settings.notebook_timeout,
        "max_output_bytes": settings.max_output_bytes,
        "worker_memory": settings.worker_memory,
        "job_root": job_root(scratch),
        "kernel_env": {
            "AUTOGRADERS_MEMORY": str(settings.memory),
            "AUTOGRADERS_HARD_LIMIT": str(settings.hard_limit),
            "AUTOGRADERS_THREADS": str(threads),
            "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
            "NNCOURSE_DEVICE": "cpu",
            "CUDA_VISIBLE_DEVICES": "",
            "PYTHONWARNINGS": "ignore",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            **({"AUTOGRADERS_SANDBOX": json.dumps(asdict(settings.sandbox_limits))}
               if settings.sandbox else {}),
        },
    }


def job_root(scratch):
    """Where the kernels' job folders go: the run's scratch, unless its path is too long
    for the Unix sockets in them (~100 bytes in all)."""
    folder = Path(scratch).parent / "k"
    if len(str(folder)) > 60:
        return tempfile.gettempdir() if len(tempfile.gettempdir()) <= 60 else "/tmp"
    folder.mkdir(exist_ok=True)
    return str(folder)


def _short_socket_folder():
    """multiprocessing puts the forkserver's socket in a folder it makes under TMPDIR when
    first asked; a long TMPDIR leaves no room in a Unix socket's ~100 bytes, so the
    folder goes in /tmp then."""
    from multiprocessing import util
    if len(tempfile.gettempdir()) <= 60:
        return
    saved, tempfile.tempdir = tempfile.tempdir, "/tmp"
    try:
        util.get_temp_dir()
    finally:
        tempfile.tempdir = saved


class Pool:
    """The grading workers: forked from a server that imports nbgrader (and the rest of
    what a job needs, ``autograders.worker_preload``) once, while the zygote imports
    torch and the record is prepared; then fed one submission at a time. Each worker
    ends with the process that made the pool (``owner``).

    A worker that dies takes its pool down with it: the jobs still open go to a fresh
    pool, and a job that breaks two pools is reported as an error.
    """

    def __init__(self, worker_settings, workers, size_hint=None):
        import multiprocessing
        self.settings = worker_settings
        self.workers = max(1, min(workers, size_hint or workers))
        # Workers fork from a server that imported what a job needs once
        # (``autograders.worker_preload``); a fork of the grader itself could inherit a
        # lock held by one of its threads.
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(["autograders.worker_preload"])
        # The server imports now, while the zygote imports torch and the record is
        # prepared; the workers fork from it when the first jobs come (starting them
        # here would wait for its imports).
        from multiprocessing import forkserver
        _short_socket_folder()
        forkserver.ensure_running()
        self.executor = None

    def _start(self, size):
        return ProcessPoolExecutor(size, mp_context=self.context,
                                   initializer=_init_worker, initargs=(self.settings,))

    def run(self, jobs, on_result):
        """Grade ``jobs``; call ``on_result(job, result)`` for each, as they finish."""
        tries = {id(job): 0 for job in jobs}
        todo = list(jobs)
        barren = 0  # pools in a row that broke before returning anything
        while todo:
            retry, returned = [], 0
            if self.executor is None:
                self.executor = self._start(max(1, min(self.workers, len(todo))))
            futures = {self.executor.submit(_grade_job, job): job for job in todo}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool:
                    tries[id(job)] += 1
                    if tries[id(job)] < 2:
                        retry.append(job)
                        continue
                    result = JobResult(job["student"], job["assignment"], error="a grading "
                                       "worker died twice on this submission")
                except Exception as exc:
                    result = JobResult(job["student"], job["assignment"],
                                       error=f"{type(exc).__name__}: {exc}")
                returned += 1
                on_result(job, result)
            if retry:
                self.close()
            barren = barren + 1 if retry and not returned else 0
            if barren >= 2:
                raise RuntimeError("the grading workers die before grading anything: see "
                                   "the worker logs (run with --keep-scratch)")
            todo = retry

    def close(self):
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None


def stop_server():
    """Stop the server the workers fork from, once a run's pools are closed: it would
    live until this process ends, and until it is reaped the CPU time of its workers
    is not counted among this process's children (as a benchmark reads it). Python
    has no public call for it: the one its own tests use."""
    from multiprocessing import forkserver
    stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)
    if stop is not None:
        stop()


def _init_worker(settings):
    from autograders.worker import init_worker
    init_worker(settings)


def _grade_job(job):
    from autograders.worker import grade_job
    return grade_job(job)
