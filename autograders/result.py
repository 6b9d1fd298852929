"""What grading one submission gives back: one typed result, from the kernel to the CSV.

``SafeExecute`` (``autograders.worker``) fills a ``NotebookReport`` while it runs a
notebook; the worker returns a ``JobResult`` with the grades it read back from its
gradebook and those reports; the grader (``autograders.grade``) decides the row's status
and flags from it alone, without reading the notebooks again.
"""
from dataclasses import asdict, dataclass, field

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
