"""Loaded into the test's Dask workers (``dask worker --preload``): grading the student
``poison`` kills the worker doing it, as a machine going down or the kernel's OOM killer
taking the whole worker would. Fault injection for tests/test_cluster.py only."""
import os
import signal

from autograders import cluster

# a worker may load its preload more than once: wrap the real method, once
_grade = getattr(cluster.GradingCourse, "unpoisoned_grade", cluster.GradingCourse.grade)


def grade(self, job, notebooks, record):
    if job["student"] == "poison":
        os.kill(os.getpid(), signal.SIGKILL)
    return _grade(self, job, notebooks, record)


cluster.GradingCourse.unpoisoned_grade = _grade
cluster.GradingCourse.grade = grade
