"""``python -m autograders grade``: grade a whole class, in parallel, safely, losing nothing.

    python -m autograders grade [SUBMISSIONS] [--assignment ID] [--workers N] [--out DIR]

The steps (each a function below):

1. **collect** the input (``autograders.collect``): a folder in nbgrader's layout, an LMS
   zip, or (no SUBMISSIONS) the bundled sample class; one ``Entry`` per student and
   assignment;
2. **repair** each notebook (``autograders.repair``) and scan the student's cells for
   tampering (``autograders.tamper``); a file that cannot be read becomes ``unreadable``,
   an absent one ``missing``;
3. **prepare the record**: ``DIR`` is an nbgrader course folder (config, sources,
   ``gradebook.db``); ``generate_assignment`` brings the gradebook's assignments up to date;
4. **grade** in ``--workers`` processes (``autograders.worker``), each with a scratch
   course and gradebook of its own, all forking their kernels from one zygote that has
   torch imported (``autograders.zygote``), each kernel in a sandbox of its own
   (``autograders.sandbox``); per-cell and per-notebook time limits and a memory cap per
   kernel (``autograders.kernel_proxy``); each job comes back as one ``JobResult``
   (``autograders.result``);
5. **merge** every result into the record gradebook as it comes, while the workers grade
   on (``Record``: one session for the run; only this process writes it), and copy the
   autograded notebooks and the feedback into ``DIR``;
6. **write** ``DIR/grades.csv``, ``DIR/report.html`` and ``DIR/grading.json`` (the status
   and flags of every row, kept across runs so that grading a late submission keeps the
   earlier rows).

The exit code is 0 when the batch completed, whatever the submissions did.
"""
import csv
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import nbformat

from autograders import ROOT, SOURCE, assignments
from autograders.collect import collect, release_notebooks
from autograders.repair import REPAIR_FLAGS, Unreadable, match_notebooks, read_notebook
from autograders.repair import repair_notebook
from autograders.result import status_descriptions
from autograders.pool import Pool, stop_server, worker_settings
from autograders.sandbox import SandboxError, limit_mechanism, probe
from autograders.settings import DEFAULTS, GradeSettings, from_args
from autograders.settings import add_arguments as add_setting_arguments
from autograders.tamper import scan
from nncourse.messages import ENGLISH

# Every status, most severe last among those that come from running the notebook.
RUN_STATUS_ORDER = ["timeout", "crashed", "memory"]
CSV_FIELDS = ["student_id", "assignment", "score", "max_score", "status", "flags"]
LOCK_NAME = ".grading.lock"
# What nbgrader's exchange puts beside a submission: when it was handed in, and the secret
# that names its feedback in the exchange.
EXCHANGE_FILES = ("timestamp.txt", "submission_secret.txt")


def _say(settings, text):
    if not settings.quiet:
        print(text, flush=True)


# ----------------------------------------------------------------------------------------
# 2. repair


def stage(entry, staging, max_bytes=DEFAULTS.max_notebook_bytes):
    """Repair the entry's notebooks into ``staging/<student>/<assignment>/``.

    Sets the entry's status (``unreadable``, ``missing``) when it cannot be graded and
    returns the staged folder, else None.
    """
    if entry.status or entry.folder is None:
        entry.status = entry.status or "missing"
        return None
    release = release_notebooks(entry.assignment)
    found, extra = match_notebooks(entry.folder, release, max_bytes)
    extra = [f for f in extra if Path(f).name not in EXCHANGE_FILES]
    if extra:
        entry.flags.append("extra-files")
        entry.notes.append("not used for grading: " + ", ".join(sorted(extra)[:10]))
    if not found:
        entry.status = "missing"
        entry.notes.append("no notebook of the assignment in the folder")
        return None
    dest = Path(staging, entry.student, entry.assignment)
    dest.mkdir(parents=True, exist_ok=True)
    timestamp = Path(entry.folder, "timestamp.txt")
    if timestamp.is_file():
        shutil.copy(timestamp, dest / "timestamp.txt")
        entry.timestamp = timestamp.read_text().strip()[:100]
    readable = sum(_stage_notebook(entry, path, renamed, release[name], dest / name,
                                   max_bytes)
                   for name, (path, renamed) in found.items())
    missing = sorted(set(release) - set(found))
    if missing:
        entry.flags.append("missing-notebook")
        entry.notes.append("not handed in: " + ", ".join(missing))
    if not readable:
        entry.status = "unreadable"
        shutil.rmtree(dest, ignore_errors=True)
        return None
    return dest


# ----------------------------------------------------------------------------------------
# 3. the record


def _stage_notebook(entry, path, renamed, release_nb, dest, max_bytes):
    """Read, repair and scan one notebook into ``dest``; False when it cannot be read."""
    size = path.stat().st_size
    if size > max_bytes:
        entry.notes.append(f"{path.name}: {size / 2**20:.0f} MB, over the limit of "
                           f"{max_bytes / 2**20:.0f} MB per notebook (--max-notebook)")
        return False
    try:
        nb, flags = read_notebook(path.read_bytes())
        fixed = repair_notebook(nb, release_nb, flags)
    except (Unreadable, ValueError, nbformat.ValidationError) as exc:
        entry.notes.append(f"{path.name}: {exc}")
        return False
    except Exception as exc:  # a notebook that breaks the repair: say so, go on
        entry.notes.append(f"{path.name}: could not be repaired ({type(exc).__name__})")
        return False
    if renamed:
        fixed.flag("renamed", f"{path.name} graded as {dest.name}")
    entry.flags.extend(f for f in fixed.flags if f not in entry.flags)
    entry.notes.extend(fixed.notes)
    student_cells = [c.source for c in fixed.nb.cells if c.cell_type == "code" and
                     not c.metadata.get("nbgrader", {}).get("locked")]
    for flag in scan(student_cells):
        if flag not in entry.flags:
            entry.flags.append(flag)
    # nbformat.write would validate it again (and only log what it found): the workers'
    # nbconvert validates it anyway
    text = nbformat.v4.writes(fixed.nb)
    dest.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return True


def _stage_safely(entry, staging, settings):
    """``stage``; whatever goes wrong there becomes this row's status, not the batch's."""
    if entry.status:
        return None
    try:
        return stage(entry, staging, settings.max_notebook_bytes)
    except Exception as exc:
        entry.status = "error"
        entry.notes.append(f"the grader could not stage this submission: "
                           f"{type(exc).__name__}: {str(exc)[:200]}")
        return None


def init_record_folder(out, assignment_ids):
    """Make ``out`` an nbgrader course folder: the course config and the sources."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if out.resolve() != ROOT.resolve():
        config = out / "nbgrader_config.py"
        if not config.exists():
            text = (ROOT / "nbgrader_config.py").read_text()
            text += ("\n# Added by `python -m autograders grade`: feedback shows test results\n"
                     "# and failure messages, never the source of hidden tests.\n"
                     "c.GenerateFeedback.preprocessors = [\n"
                     "    'nbgrader.preprocessors.GetGrades',\n"
                     "    'autograders.worker.FeedbackFilter',\n"
                     "    'nbconvert.preprocessors.CSSHTMLHeaderPreprocessor']\n")
            config.write_text(text)
        for aid in assignment_ids:
            shutil.copytree(SOURCE / aid, out / "source" / aid, dirs_exist_ok=True)


def _venv_on_path():
    """nbgrader runs ``alembic`` when it creates a gradebook: it must be on PATH."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def alembic_head():
    """The gradebook schema's newest revision, read in this process: what nbgrader gets
    from running ``alembic heads`` (4 s of a start of Python and alembic) when it creates
    a gradebook."""
    import nbgrader
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(Path(nbgrader.__file__).parent / "alembic")).get_current_head()


def prepare_record(out, assignment_ids, scratch):
    """Bring the gradebook of the course folder ``out`` up to date with the sources."""
    _venv_on_path()
    import nbgrader.api
    nbgrader.api.get_alembic_version = alembic_head
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import Config, PyFileConfigLoader

    out = Path(out)
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(out)).load_config()
    extra = Config()
    extra.CourseDirectory.root = str(out)
    extra.CourseDirectory.release_directory = str(Path(scratch, "release"))
    extra.BaseConverter.force = True
    extra.GenerateAssignment.create_assignment = True
    cfg.merge(extra)
    for aid in assignment_ids:
        coursedir = CourseDirectory(config=cfg)
        coursedir.assignment_id = aid
        converter = GenerateAssignment(coursedir=coursedir, config=cfg)
        converter.log.setLevel("ERROR")
        converter.start()
    return out / "gradebook.db"


def _meanwhile(fn, *args):
    """``fn(*args)`` at a lower priority than the zygote's import of torch, which every
    kernel waits for while this runs beside it (in a thread of its own: Linux sets a
    thread's priority, and only raising the nice value needs no privilege)."""
    import threading
    outcome = {}

    def run():
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (AttributeError, OSError):
            pass
        try:
            outcome["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001: raised in the caller
            outcome["error"] = exc
    thread = threading.Thread(target=run, name=fn.__name__)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _db_url(path):
    return f"sqlite:///{Path(path).resolve()}"


def _rows_of(gb, kind, submission):
    """``(row, notebook name, cell name)`` of every Grade or Comment of ``submission``, in
    one query (reading ``nb.grades`` and each ``grade.name`` costs a query apiece)."""
    import nbgrader.api as api
    table = getattr(api, kind)
    return (gb.db.query(table, api.Notebook.name, api.BaseCell.name)
            .join(api.BaseCell, table.cell_id == api.BaseCell.id)
            .join(api.SubmittedNotebook, table.notebook_id == api.SubmittedNotebook.id)
            .join(api.Notebook, api.SubmittedNotebook.notebook_id == api.Notebook.id)
            .filter(api.SubmittedNotebook.assignment_id == submission.id).all())


class Record:
    """The record gradebook, open for the whole run: every result is merged as it comes,
    while the workers grade on (one session, one commit per submission, so that a run
    cut short keeps what it merged). Only this process writes it."""

    def __init__(self, db_url):
        self.db_url, self.gb = db_url, None
        self.seconds = 0.0  # spent merging (the benchmark's "record" per notebook)

    def _gradebook(self):
        if self.gb is None:
            from nbgrader.api import Gradebook
            self.gb = Gradebook(self.db_url)
        return self.gb

    def merge(self, entry, result):
        """Write one worker's grades for ``entry``."""
        began = time.perf_counter()
        gb = self._gradebook()
        try:
            gb.update_or_create_student(entry.student)
            kwargs = {"timestamp": result.timestamp} if result.timestamp else {}
            sub = gb.update_or_create_submission(entry.assignment, entry.student, **kwargs)
            for grade, notebook, cell in _rows_of(gb, "Grade", sub):
                got = result.grades.get(notebook, {}).get(cell)
                grade.auto_score = got["auto_score"] if got else 0.0
                grade.needs_manual_grade = got["needs_manual_grade"] if got else False
            for comment, notebook, cell in _rows_of(gb, "Comment", sub):
                comment.auto_comment = result.comments.get(notebook, {}).get(cell)
            gb.db.commit()
        except BaseException:
            gb.db.rollback()
            raise
        finally:
            self.seconds += time.perf_counter() - began

    def absent(self, entry):
        """A row without a graded submission: the student is known, no stale submission
        stays."""
        from nbgrader.api import MissingEntry

        gb = self._gradebook()
        gb.update_or_create_student(entry.student)
        if entry.assignment:
            try:
                gb.find_submission(entry.assignment, entry.student)
            except MissingEntry:
                return
            gb.remove_submission(entry.assignment, entry.student)

    def close(self):
        if self.gb is not None:
            self.gb.db.commit()
            self.gb.close()
            self.gb = None


# ----------------------------------------------------------------------------------------
# 4. grading


# ----------------------------------------------------------------------------------------
# 5. statuses


def status_of(entry, result):
    """The status and extra flags of a graded entry, from its ``JobResult`` alone."""
    if result.error:
        return "error", []
    flags, found = [], set()
    for report in result.reports.values():
        memory = report.memory + report.failed_allocations
        crashes = report.crashes + report.exits
        if memory:
            found.add("memory")
            flags += [f"memory:{c}" for c in memory]
        if crashes:
            found.add("crashed")
            flags += [f"crashed:{c}" for c in crashes]
        if report.timeouts or report.deadline:
            found.add("timeout")
            flags += [f"timeout:{c}" for c in report.timeouts]
            if report.deadline:
                flags.append("notebook-time-limit")
        if report.truncated:
            flags.append("output-truncated")
        for family in sorted(report.tamper):
            flags.append(f"tamper:{family}")
        flags += [f"forbidden-call:{c}" for c in report.flagged]
        flags += [f"judge-error:{c}" for c in report.judge_errors]
    for status in reversed(RUN_STATUS_ORDER):
        if status in found:
            return status, _unique(flags)
    return ("repaired" if any(f in REPAIR_FLAGS for f in entry.flags) else "ok"), \
        _unique(flags)


def _unique(items):
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


# ----------------------------------------------------------------------------------------
# 6. outputs


def _copy_tree(src, dest):
    if src and Path(src).is_dir():
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(src, dest)


def _keep_exchange_files(entry, feedback):
    """nbgrader's exchange files beside the feedback: ``nbgrader release_feedback`` names
    each student's feedback after their submission's secret, so that only they find it."""
    if entry.folder is None or not feedback.is_dir():
        return
    for name in EXCHANGE_FILES:
        path = Path(entry.folder, name)
        if path.is_file() and not path.is_symlink() and path.stat().st_size <= 1024:
            text = path.read_text(errors="replace").strip()
            if name != "submission_secret.txt" or re.fullmatch(r"[0-9a-f]{1,256}", text):
                (feedback / name).write_text(text)


def _keep_input(entry, out, max_bytes):
    """The notebooks as handed in, under ``out/submitted`` (the record of what was graded);
    other files and links are not copied: nothing a student sends lands beside the record.
    A course folder graded in place (``grade submitted --out .``) keeps its own."""
    if entry.folder is None or not entry.assignment:
        return
    dest = Path(out, "submitted", entry.student, entry.assignment)
    if dest.resolve() == Path(entry.folder).resolve():
        return
    shutil.rmtree(dest, ignore_errors=True)
    for path in sorted(Path(entry.folder).rglob("*")):
        if path.suffix == ".ipynb" and path.is_file() and not path.is_symlink() and \
                path.stat().st_size <= max_bytes:
            target = dest / path.relative_to(entry.folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)


def load_state(out):
    path = Path(out, "grading.json")
    if path.exists():
        try:
            return json.loads(path.read_text())
        except ValueError:
            pass
    return {"rows": {}}


def rows_from_record(db_url, state):
    """grades.csv rows: status and flags from ``state``, scores from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    rows, columns = [], {}
    with Gradebook(db_url) as gb:
        known = {a.name: a for a in gb.assignments}
        order = {aid: i for i, aid in enumerate(assignments())}
        for key, info in sorted(state["rows"].items(),
                                key=lambda kv: (order.get(kv[1]["assignment"], 999),
                                                kv[1]["assignment"], kv[1]["student_id"])):
            aid, student = info["assignment"], info["student_id"]
            row = {"student_id": student, "assignment": aid, "status": info["status"],
                   "flags": ";".join(info.get("flags", [])), "cells": {}}
            assignment = known.get(aid)
            row["max_score"] = _num(assignment.max_score) if assignment else ""
            row["score"] = 0 if assignment else ""
            if assignment:
                for nb in assignment.notebooks:
                    for cell in nb.grade_cells:
                        columns.setdefault((aid, nb.name, cell.name), None)
                        row["cells"][(aid, nb.name, cell.name)] = 0
                try:
                    sub = gb.find_submission(aid, student)
                except MissingEntry:
                    sub = None
                if sub is not None:
                    if (sub.total_seconds_late or 0) > 0 and "late" not in row["flags"]:
                        row["flags"] = ";".join(filter(None, [row["flags"], "late"]))
                    penalty = sub.late_submission_penalty or 0.0
                    row["score"] = _num(max(0.0, sub.score - penalty))
                    for nb in sub.notebooks:
                        for grade in nb.grades:
                            row["cells"][(aid, nb.name, grade.name)] = _num(grade.score)
            rows.append(row)
    names = _column_names(list(columns))
    return rows, names


def _num(value):
    value = float(value or 0.0)
    return int(value) if value.is_integer() else round(value, 4)


def _column_names(keys):
    """A column per graded cell: its id, made unique with the assignment when needed."""
    counts = {}
    for _, _, cell in keys:
        counts[cell] = counts.get(cell, 0) + 1
    return {key: key[2] if counts[key[2]] == 1 else f"{key[0]}:{key[2]}" for key in keys}


def write_csv(path, rows, names):
    keys = list(names)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_FIELDS + [names[k] for k in keys])
        for row in rows:
            writer.writerow([row[k] for k in CSV_FIELDS] +
                            [row["cells"].get(k, "") for k in keys])


# ----------------------------------------------------------------------------------------
# The command


def grade(submissions=None, assignment=None, out="grades", settings=None):
    """Grade a class; return a summary dict (see ``main`` for the command line)."""
    settings = settings or GradeSettings()
    # before anything is written: the cluster and its workers, or this machine's sandbox
    cluster = _connect(settings) if settings.cluster else None
    if cluster is None:
        _require_sandbox(settings)
    _quiet_nbgrader()
    out = Path(out).resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = _lock(out)
    except BaseException:
        if cluster is not None:
            cluster.close()
        raise
    _venv_on_path()
    run = Run(out, settings, cluster)
    try:
        entries = collect(submissions, run.scratch / "input", assignment)
        graded_ids = _graded_assignments(entries)
        _say(settings, f"grade: {len(entries)} rows ({len(graded_ids)} assignments: "
                       f"{', '.join(graded_ids) or '-'}), "
                       + (f"on the Dask cluster {settings.cluster}, " if cluster else "")
                       + ((f"each kernel in a sandbox, bounded by {run.limits}" if run.limits
                           else "each kernel in a sandbox")
                          if settings.sandbox else
                          "NO SANDBOX: students' code runs with the grader's permissions"))
        run.start_engines(graded_ids, len(entries))
        jobs = run.stage(entries)
        run.phase("collect")
        record_db = _meanwhile(prepare_record, out, graded_ids, run.scratch) \
            if graded_ids else out / "gradebook.db"
        if cluster is not None and graded_ids:
            cluster.send_record(record_db)
        run.phase("record")
        record = Record(_db_url(record_db))
        try:
            results = run.grade(jobs, entries, record)
            run.phase("grading")
            return run.write_outputs(entries, results, record_db, record, len(jobs))
        finally:
            record.close()
    finally:
        run.close()
        lock.close()


def _connect(settings):
    """The Dask cluster of ``--cluster``, ready to grade (``autograders.cluster``)."""
    try:
        from autograders.cluster import ClusterPool
    except ImportError as exc:
        raise ValueError(f"--cluster needs Dask's distributed package ({exc}): "
                         "pip install -e '.[cluster]'") from None
    return ClusterPool(settings.cluster, settings)


def _require_sandbox(settings):
    """Stop before anything is written when the sandbox asked for cannot be made."""
    if settings.sandbox:
        missing = probe()
        if missing:
            raise SandboxError(f"{missing}. Grade without a sandbox with --no-sandbox "
                               "(students' code then runs with your permissions), or see "
                               "docs/instructor.md, \"The sandbox\".")


def _quiet_nbgrader():
    import warnings
    warnings.filterwarnings("ignore", module="nbgrader")  # SQLAlchemy chatter
    warnings.filterwarnings("ignore", message=".*not in session.*")


def _graded_assignments(entries):
    """The assignments that rows will be graded for, in the course's order."""
    order = assignments()
    return sorted({e.assignment for e in entries if e.assignment and e.status != "unknown"},
                  key=lambda a: order.index(a) if a in order else 999)


class Run:
    """One run of ``grade``: its scratch folder, its engines (zygote, workers), its
    timings, and the steps that use them."""

    def __init__(self, out, settings, cluster=None):
        self.out, self.settings = out, settings
        self.scratch = Path(tempfile.mkdtemp(prefix="nncourse-grade-"))
        self.zygote = self.zygote_done = None
        self.pool = self.cluster = cluster  # a ClusterPool grades on the cluster's workers
        self.began = self._mark = time.perf_counter()
        self.phases = {}
        # what bounds each kernel here: cgroups and rlimits, or rlimits alone
        self.limits = limit_mechanism() if settings.sandbox and not cluster else None

    def phase(self, name):
        now = time.perf_counter()
        self.phases[name] = round(now - self._mark, 2)
        self._mark = now

    def start_engines(self, graded_ids, size_hint):
        """The zygote (it imports torch meanwhile), the record folder and the workers."""
        if not graded_ids:
            return
        settings = self.settings
        if self.cluster is not None:
            init_record_folder(self.out, graded_ids)
            self._send_course(graded_ids)
            return
        if settings.fork:
            from autograders.zygote import Zygote
            self.zygote = Zygote(self.scratch / "zygote",
                                 sandbox=asdict(settings.sandbox_limits)
                                 if settings.sandbox else None).start()
            import threading
            self.zygote_done = threading.Event()
            threading.Thread(target=self.zygote.watch, args=(self.zygote_done,),
                             daemon=True).start()
        init_record_folder(self.out, graded_ids)
        (self.scratch / "workers").mkdir()
        self.pool = Pool(worker_settings(
            settings, self.scratch / "workers", self.out / "gradebook.db",
            {aid: SOURCE / aid for aid in graded_ids},
            self.zygote.socket if self.zygote else None), settings.workers, size_hint=size_hint)

    def _send_course(self, graded_ids):
        """The course to every worker of the cluster: they start their zygotes and
        grading processes while the record is prepared here."""
        from autograders.cluster import course_payload
        payload = course_payload(self.settings, self.out, graded_ids,
                                 {aid: SOURCE / aid for aid in graded_ids})
        self.cluster.send_course(payload, self.scratch / "returned")

    def stage(self, entries):
        """Repair every submission that can be graded; return the workers' jobs."""
        jobs = []
        for entry in entries:
            staged = _stage_safely(entry, self.scratch / "staged", self.settings)
            if staged:
                jobs.append({"student": entry.student, "assignment": entry.assignment,
                             "staged": str(staged)})
        return jobs

    def grade(self, jobs, entries, record):
        """Grade the jobs; merge each result into the ``Record`` as it comes."""
        by_key = {e.key: e for e in entries}
        results = {}

        def on_result(job, result):
            entry = by_key[(job["student"], job["assignment"])]
            results[entry.key] = result
            self._record(entry, result, record)
            _say(self.settings, f"  [{len(results)}/{len(jobs)}] {entry.student} "
                                f"{entry.assignment}: {entry.status} ({result.seconds:.1f} s)")
        if jobs:
            self.pool.run(jobs, on_result)
        if self.pool is not None:
            self.pool.close()
        return results

    def _record(self, entry, result, record):
        entry.status, flags = status_of(entry, result)
        entry.flags += [f for f in flags if f not in entry.flags]
        if result.error:
            entry.notes.append(result.error.splitlines()[0][:300])
            record.absent(entry)
            return
        record.merge(entry, result)
        _copy_tree(result.autograded, self.out / "autograded" / entry.student /
                   entry.assignment)
        feedback = self.out / "feedback" / entry.student / entry.assignment
        _copy_tree(result.feedback, feedback)
        _keep_exchange_files(entry, feedback)

    def write_outputs(self, entries, results, record_db, record, graded):
        """grades.csv, grading.json and report.html; return the run's summary."""
        out, settings = self.out, self.settings
        db_url = _db_url(record_db)
        state = load_state(out)
        for entry in entries:
            if entry.key not in results and entry.assignment and entry.status != "unknown" \
                    and record_db.exists():
                record.absent(entry)
            _keep_input(entry, out, settings.max_notebook_bytes)
            state["rows"][f"{entry.assignment}/{entry.student}"] = _state_row(
                entry, results.get(entry.key), out)
        record.close()
        state["statuses"] = status_descriptions(ENGLISH)
        self.phase("outputs")  # (the report comes after: its time is not in last_run)
        state["last_run"] = {"phases": self.phases, "workers": settings.workers,
                             "cluster": settings.cluster,
                             "fork": settings.fork, "sandbox": settings.sandbox,
                             "limits": self.limits,
                             "jobs": graded, "merging": round(record.seconds, 2),
                             "seconds": round(time.perf_counter() - self.began, 2)}
        if record_db.exists():
            rows, names = rows_from_record(db_url, state)
        else:
            rows, names = _rows_without_record(state), {}
        write_csv(out / "grades.csv", rows, names)
        (out / "grading.json").write_text(json.dumps(state, indent=1, sort_keys=True))
        from autograders.report import write_report
        write_report(out / "report.html", rows, names, state, settings.language)
        summary = {"rows": len(entries), "graded": graded,
                   "errors": sum(e.status == "error" for e in entries),
                   "statuses": _count(e.status for e in entries),
                   "seconds": round(time.perf_counter() - self.began, 2), "out": str(out),
                   "phases": self.phases, "sandbox": settings.sandbox}
        _say(settings, f"grade: {summary['statuses']} in {summary['seconds']} s "
                       f"{self.phases}; wrote {out / 'grades.csv'}, {out / 'report.html'}")
        return summary

    def close(self):
        if self.pool is not None:
            self.pool.close()
            if self.cluster is None:
                stop_server()
        if self.zygote is not None:
            self.zygote_done.set()
            self.zygote.stop()
        if not self.settings.keep_scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)


def _state_row(entry, result, out):
    """The row of ``grading.json`` for one entry."""
    feedback = out / "feedback" / entry.student / entry.assignment
    return {"student_id": entry.student, "assignment": entry.assignment,
            "status": entry.status, "flags": entry.flags, "notes": entry.notes,
            "seconds": result.seconds if result else None, "timing": _timing(result),
            "feedback": sorted(str(p.relative_to(out)) for p in feedback.glob("*.html"))
            if result else []}


def _lock(out):
    """One grading run at a time per output folder (the record is one SQLite file)."""
    import fcntl
    handle = open(Path(out, LOCK_NAME), "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise ValueError(f"{out} is being graded by another run") from None
    return handle


def _timing(result):
    """Where a job's time went: worker steps (wall, cpu), kernel wall, cells."""
    if not result or result.error:
        return None
    return dict(result.timing, kernel_wall=result.kernel_wall(), cells=result.cell_seconds(),
                judging=result.judge_seconds(), kernel_start=result.kernel_start_seconds(),
                kernel_stop=result.kernel_stop_seconds())


def _rows_without_record(state):
    return [{"student_id": r["student_id"], "assignment": r["assignment"], "score": 0,
             "max_score": "", "status": r["status"], "flags": ";".join(r["flags"]),
             "cells": {}} for r in state["rows"].values()]


def _count(items):
    counts = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return dict(sorted(counts.items()))


def main(args):
    settings = from_args(args)
    try:
        summary = grade(args.submissions, args.assignment, args.out, settings)
    except (FileNotFoundError, ValueError) as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    except SandboxError as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"grade: the grader failed: {exc}", file=sys.stderr)
        return 1
    if summary["graded"] and summary["errors"] == summary["graded"]:
        print("grade: every submission failed in the grader: see grading.json",
              file=sys.stderr)
        return 1
    return 0


def add_arguments(parser):
    parser.add_argument("submissions", nargs="?", default=None,
                        help="folder (submitted/<student>/<assignment>/) or LMS zip; "
                             "default: the bundled sample class")
    parser.add_argument("--assignment", help="grade only this assignment")
    parser.add_argument("--out", default="grades",
                        help="output folder: an nbgrader course with the record gradebook, "
                             "grades.csv, report.html, feedback/ (default: grades)")
    add_setting_arguments(parser)
