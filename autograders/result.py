"""What grading one submission gives back: one typed result, from the kernel to the CSV.

``SafeExecute`` (``autograders.worker``) fills a ``NotebookReport`` while it runs a
notebook; the worker returns a ``JobResult`` with the grades it read back from its
gradebook and those reports; the grader (``autograders.grade``) decides the row's status
and flags from it alone, without reading the notebooks again.
"""
from dataclasses import asdict, dataclass, field
from functools import partial

from nncourse.messages import say_in



def status_descriptions(language):
    """``{status: what it means}`` for each status a row of grades.csv can have."""
    say = partial(say_in, language)
    return {
        "ok": say("graded; nothing unusual"),
        "repaired": say("graded after the notebook was repaired (see flags: renamed, "
                        "nbformat3, invalid-json, metadata-restored, duplicate-ids, "
                        "cells-reinserted, cell-type-restored, locked-edited, latin-1, "
                        "invalid-unicode, cell-too-long)"),
        "timeout": say("a cell ran past the per-cell limit (it scores zero, later cells "
                       "were graded) or the notebook ran past its own limit (cells not "
                       "reached score zero)"),
        "crashed": say("the kernel died (os._exit, exit(), a crash) or the code called "
                       "sys.exit; cells before it are scored, later ones run in a fresh "
                       "kernel"),
        "memory": say("the kernel went over the memory cap and was stopped (or an "
                      "allocation failed at the cap); the rest of the batch went on"),
        "unreadable": say("the file is not a notebook that can be read or repaired; "
                          "score 0"),
        "missing": say("nothing was handed in for this assignment; score 0"),
        "unknown": say("files that belong to no assignment of the course, or to no "
                       "student; not graded"),
        "error": say("the grader failed on this submission (details in grading.json); "
                     "score 0"),
    }


# An allocation that failed at the address-space cap (RLIMIT_AS) shows as an error output.
MEMORY_ERRORS = ("can't allocate memory", "out of memory", "cannot allocate memory",
                 "defaultcpuallocator")


@dataclass
class NotebookReport:
    """What happened while one notebook ran (cells named by their grade id)."""
    timeouts: list = field(default_factory=list)
    crashes: list = field(default_factory=list)     # the kernel died in these cells
    memory: list = field(default_factory=list)      # stopped at the memory cap
    not_run: list = field(default_factory=list)
    truncated: list = field(default_factory=list)   # output cut at the cap
    exits: list = field(default_factory=list)       # the code raised SystemExit
    failed_allocations: list = field(default_factory=list)  # MemoryError at the cap
    deadline: bool = False                          # the notebook's own limit was hit
    restarts: int = 0
    tamper: dict = field(default_factory=dict)      # family -> names changed
    flagged: dict = field(default_factory=dict)     # cell -> forbidden calls the judge saw
    judge_errors: list = field(default_factory=list)  # cells the judge could not judge
    seconds: dict = field(default_factory=dict)     # cell -> wall seconds in the kernel
    judging: dict = field(default_factory=dict)     # test cell -> wall seconds judged
    events: list = field(default_factory=list)      # the kernel proxy's last events
    starting: float = 0.0                           # seconds until its kernels answered
    stopping: float = 0.0                           # seconds to stop them
    wall: float = 0.0

    def saw_error(self, cell, ename, evalue):
        """Note an error output that says more than "the test failed"."""
        if ename == "SystemExit":
            self.exits.append(cell)
        elif ename == "MemoryError" or any(m in str(evalue).lower() for m in MEMORY_ERRORS):
            self.failed_allocations.append(cell)


@dataclass
class JobResult:
    """One submission graded by a worker (``error`` set when the grader itself failed)."""
    student: str
    assignment: str
    worker: int = 0
    grades: dict = field(default_factory=dict)     # notebook -> cell -> score fields
    comments: dict = field(default_factory=dict)   # notebook -> cell -> auto comment
    timestamp: str = None
    reports: dict = field(default_factory=dict)    # notebook -> NotebookReport
    timing: dict = field(default_factory=dict)     # step -> [wall, cpu]
    autograded: str = None                         # folders in the worker's scratch
    feedback: str = None
    error: str = None
    feedback_error: str = None
    seconds: float = 0.0

    def to_json(self):
        return asdict(self)

    def kernel_wall(self):
        return round(sum(r.wall for r in self.reports.values()), 3)

    def cell_seconds(self):
        """The student's cells, in their kernel: the work the grading cannot avoid."""
        return round(sum(sum(r.seconds.values()) for r in self.reports.values()), 3)

    def judge_seconds(self):
        """The test cells, run by the judge against the student's kernel."""
        return round(sum(sum(r.judging.values()) for r in self.reports.values()), 3)

    def kernel_start_seconds(self):
        return round(sum(r.starting for r in self.reports.values()), 3)

    def kernel_stop_seconds(self):
        return round(sum(r.stopping for r in self.reports.values()), 3)
