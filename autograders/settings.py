"""Every setting of ``python -m autograders grade``, defined once with its help text.

``GradeSettings`` is what ``grade()`` takes; the command line is built from its fields
(``add_arguments``, ``from_args``), and the workers and kernels read their limits from it,
so a default is written in one place only.
"""
import os
import sys
from dataclasses import dataclass, field, fields

from autograders.sandbox import Limits
from nncourse.messages import ENGLISH, normalise


def setting(default, help, flag=None, **argparse_kw):
    """A field with its command-line help (``flag`` None: not on the command line); the
    settings of ``grade`` and of ``hub`` are made of them."""
    return field(default=default, metadata={"help": help, "flag": flag, **argparse_kw})


@dataclass
class GradeSettings:
    workers: int = setting(None, "grading processes (default: the number of cores)",
                            "--workers", type=int)
    cell_timeout: int = setting(None, "seconds per cell (default: Execute.timeout of the "
                                 "config)", "--cell-timeout", type=int)
    notebook_timeout: int = setting(600, "seconds per notebook (default: %(default)s)",
                                     "--notebook-timeout", type=int)
    memory_gb: float = setting(4.0, "memory cap per kernel in GiB (default: %(default)s)",
                                "--memory", type=float)
    max_output_mb: float = setting(1.0, "output kept per cell in MB (default: %(default)s)",
                                    "--max-output", type=float)
    max_notebook_mb: float = setting(50.0, "largest notebook file read, in MB; a larger "
                                      "one is unreadable (default: %(default)s)", "--max-notebook",
                                      type=float)
    worker_memory_gb: float = setting(4.0, "memory cap of each grading worker itself, "
                                       "beyond what it holds at its start, in GiB "
                                       "(default: %(default)s)", "--worker-memory",
                                       type=float)
    fork: bool = setting(True, "start every kernel from scratch instead of forking it "
                          "from a process that has torch imported (slower)", "--no-fork",
                          action="store_false")
    sandbox: bool = setting(True, "run kernels without a sandbox (students' code then "
                             "runs with your permissions; the summary, report.html and "
                             "grading.json say so)", "--no-sandbox", action="store_false")
    cluster: str = setting(None, "grade on a Dask cluster: a scheduler's address "
                            "(tcp://host:8786) or local:N (a local cluster of N worker "
                            "processes); see docs/cluster.md", "--cluster")
    keep_scratch: bool = setting(False, "keep the scratch folder (for debugging the "
                                  "grader)", "--keep-scratch", action="store_true")
    language: str = setting(None, "language of report.html: en or zh_CN (default: "
                             "NNCOURSE_LANG, else en); feedback is always in the language "
                             "of the notebook handed in", "--language")
    quiet: bool = setting(False, "print nothing while grading")

    def __post_init__(self):
        self.workers = max(1, int(self.workers or os.cpu_count() or 1))
        self.notebook_timeout = int(self.notebook_timeout)
        self.fork = bool(self.fork) and sys.platform.startswith("linux")
        self.sandbox = bool(self.sandbox)
        asked = self.language or os.environ.get("NNCOURSE_LANG")
        self.language = normalise(asked) or ENGLISH
        if self.language == ENGLISH and asked and not asked.lower().startswith(("en", "c")):
            raise ValueError(f"unknown language {asked!r}: en or zh_CN")

    @property
    def memory(self):
        return int(float(self.memory_gb) * 2**30)

    @property
    def worker_memory(self):
        return int(float(self.worker_memory_gb) * 2**30)

    @property
    def max_output_bytes(self):
        return int(float(self.max_output_mb) * 2**20)

    @property
    def max_notebook_bytes(self):
        return int(float(self.max_notebook_mb) * 2**20)

    @property
    def sandbox_limits(self):
        """The sandbox's limits per kernel: CPU seconds follow the notebook's limit; the
        memory cgroup leaves headroom above the cap, which the kernel's proxy enforces
        (and reports) first."""
        return Limits(cpu_seconds=self.hard_limit,
                      memory_bytes=self.memory + max(self.memory // 4, 512 << 20))

    @property
    def hard_limit(self):
        """Seconds after which a kernel's proxy kills it, whatever it is doing."""
        return self.notebook_timeout + 60


DEFAULTS = GradeSettings(workers=1, quiet=True)


def add_arguments(parser, settings_class=GradeSettings):
    """The command-line options, one per field of ``settings_class`` that has a flag."""
    for f in fields(settings_class):
        meta = dict(f.metadata)
        flag = meta.pop("flag", None)
        if flag:
            parser.add_argument(flag, dest=f.name, default=f.default, **meta)
    return parser


def from_args(args, settings_class=GradeSettings):
    """The settings the command line asked for (the defaults where it said nothing)."""
    values = {f.name: getattr(args, f.name) for f in fields(settings_class)
              if f.metadata.get("flag") and hasattr(args, f.name)}
    return settings_class(**values)
