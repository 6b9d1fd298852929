"""One grading worker: nbgrader's own converters, run in-process, one submission at a time.

``python -m autograders grade`` starts ``--workers`` of these processes. Each one has a
scratch course folder of its own (its own ``gradebook.db``, so no two processes ever
write the same SQLite file) and keeps nbgrader imported between submissions, so the cost
of starting Python and nbgrader is paid once per worker, not once per student. For every
submission it runs nbgrader's ``Autograde`` converter (sanitize: ``OverwriteCells``
restores locked and test cells from the gradebook and puts deleted grade cells back;
then execute and save the grades) and ``GenerateFeedback``, and returns the grades it
read back from its gradebook. The parent merges them into the record gradebook.

Execution goes through ``SafeExecute``, nbgrader's ``Execute`` preprocessor made safe for
a class of untrusted notebooks (see its docstring), on the grading kernel of
``autograders.kernel_proxy`` (forked from the zygote when there is one).
"""
import ast
import asyncio
import json
import logging
import os
import re
import shutil
import subprocess
import time
import traceback
from dataclasses import asdict
from pathlib import Path

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Integer, Unicode

from autograders import ROOT, extra_files
from autograders.i18n import language_of
from autograders.judge_client import JudgeFailed, JudgeKernel, shell_reply
from autograders.kernel_proxy import alive
from autograders.nbgrader_tuning import compile_metadata_schema, share_engines
from autograders.result import JobResult, NotebookReport
from autograders.sandbox import remove_cgroups
from autograders.settings import DEFAULTS
from nncourse.messages import say, say_in

KERNEL_NAME = "nncourse-grade"
PROXY_MAIN = ("import sys; sys.path[0] = {root!r}; "
              "from autograders.kernel_proxy import main; sys.exit(main())")


def _error(ename, evalue):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class SafeExecute(Execute):
    """nbgrader's ``Execute``, bounded, and able to carry on after a dead kernel.

    - every cell runs under the per-cell limit (``Execute.timeout``) and under what is left
      of the notebook's limit (``notebook_timeout``); a cell that runs out is interrupted,
      and when the interrupt does not stop it the kernel is killed; either way the cell
      scores zero and the cells after it still run;
    - a kernel that dies (``os._exit``, a crash, killed for memory) is replaced by a fresh
      one, which first re-runs the earlier cells that are not tests (silently), so the
      exercises after the fatal cell are still graded;
    - a cell's output beyond ``max_output_bytes`` is dropped with a note (``print`` in a
      loop must not fill the grader's memory, the notebook or the gradebook);
    - what happened is written as JSON to ``report_dir/<student>/<assignment>/<nb>.json``;
    - test cells never run in the student's kernel: a judge kernel of the notebook's own
      runs each one, hidden tests included, and the cell's outputs are its verdict
      (``autograders.judge``, ``autograders.judge_client``).

    A graded cell that is never run gets an error output, so nbgrader scores it zero (it
    would give full marks to a test cell without an error).
    """

    shutdown_kernel = "immediate"  # a killed kernel leaves nothing behind: it is a fork
    # Each kernel talks over ipc:// sockets in a job folder of its own, the one folder that
    # its sandbox shares with the grader (a sandbox has no network). Unix socket paths are
    # short (~100 bytes): the folders go in /tmp.
    job_root = Unicode("/tmp", help="where the kernels' job folders go").tag(config=True)
    notebook_timeout = Integer(DEFAULTS.notebook_timeout,
                               help="seconds for the whole notebook").tag(config=True)
    max_output_bytes = Integer(DEFAULTS.max_output_bytes,
                               help="output kept per cell").tag(config=True)
    max_restarts = Integer(3, help="fresh kernels after a dead one").tag(config=True)
    report_dir = Unicode("", help="where the per-notebook reports go").tag(config=True)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        job = self._judge.student_folder()
        self._job_dirs.append(job)
        km.transport = "ipc"
        km.connection_file = os.path.join(job, "kernel.json")
        km.ip = os.path.join(job, "k")
        return km

    # -- limits
    def _get_timeout(self, cell):
        base = super()._get_timeout(cell)
        left = max(1, int(self._deadline - time.monotonic()))
        return left if base is None else max(1, min(base, left))

    async def _async_handle_timeout(self, timeout, cell=None):
        self._cell_timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        if msg["msg_type"] == "error":
            content["evalue"] = str(content.get("evalue", ""))[:20000]
            content["traceback"] = [str(t)[:20000] for t in content.get("traceback", [])[:200]]
            return super().output(outs, msg, display_id, cell_index)
        if msg["msg_type"] == "stream":
            size = len(content.get("text", ""))
        else:
            size = sum(len(str(v)) for v in (content.get("data") or {}).values())
        used = self._output_bytes.get(cell_index, 0)
        if used + size > self.max_output_bytes:
            if cell_index not in self._truncated:
                self._truncated.add(cell_index)
                if msg["msg_type"] == "stream":  # keep what fits, then say so
                    room = max(0, self.max_output_bytes - used)
                    content["text"] = content.get("text", "")[:room]
                    super().output(outs, msg, display_id, cell_index)
                outs.append(new_output("stream", name="stdout", text=say_in(
                    self.language, "\n[output truncated by the grader: more than {limit} "
                    "bytes]\n", limit=self.max_output_bytes)))
                self._output_bytes[cell_index] = self.max_output_bytes
            return None
        self._output_bytes[cell_index] = used + size
        return super().output(outs, msg, display_id, cell_index)

    # -- a quicker start: jupyter_client's wait_for_ready sleeps at least 0.2 s to flush
    # IOPub; one IOPub message for our own request shows the channel is connected.
    async def async_start_new_kernel_client(self):
        from nbclient.util import run_hook
        self.kc = self.km.client()
        await ensure_async(self.kc.start_channels())
        deadline = time.monotonic() + (self.startup_timeout or 60)
        while True:
            if time.monotonic() > deadline:
                await self._async_cleanup_kernel()
                raise RuntimeError(say("the kernel did not start in time"))
            msg_id = self.kc.kernel_info()
            if await self._reply_and_iopub(msg_id, 0.5):
                break
            if not await ensure_async(self.kc.is_alive()):
                why = [e.get("error") or e.get("kind") for e in self._events()]
                await self._async_cleanup_kernel()
                said = "; ".join(str(w) for w in why if w) or say("no word")
                raise RuntimeError(say("the kernel died before it started: {why}", why=said))
        self.kc.allow_stdin = False
        await run_hook(self.on_notebook_start, notebook=self.nb)
        return self.kc

    async def _reply_and_iopub(self, msg_id, timeout):
        """The kernel's reply to ``msg_id`` came, and its IOPub channel reaches us: the
        status it published for the request, or its welcome to our subscription (a
        status sent before the subscription arrived is lost, and waiting for it cost a
        third of a second in one start of two)."""
        end = time.monotonic() + timeout
        replied = published = False
        while not (replied and published):
            left = end - time.monotonic()
            if left <= 0:
                return False
            channel = self.kc.iopub_channel if replied else self.kc.shell_channel
            try:
                msg = await ensure_async(channel.get_msg(timeout=left))
            except Exception:
                return False
            if replied and msg.get("msg_type") == "iopub_welcome":
                published = True
            elif msg.get("parent_header", {}).get("msg_id") == msg_id:
                if replied:
                    published = True
                else:
                    replied = True
                    info = msg["content"]
                    if "language_info" in info:
                        self.nb.metadata["language_info"] = info["language_info"]
        return True

    # -- the run
    def preprocess(self, nb, resources, km=None):
        from nbclient import NotebookClient
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._deadline = time.monotonic() + self.notebook_timeout
        self._output_bytes, self._truncated = {}, set()
        self._job_dirs = []
        self.report = NotebookReport()
        started = time.time()
        self._judge = _judge_for(self.kernel_name, self.job_root, self.startup_timeout,
                                 self.notebook_timeout)
        self._setup = "\n".join(  # the locked cells that are not tests (restored by nbgrader)
            c.source for c in nb.cells if c.cell_type == "code"
            and c.metadata.get("nbgrader", {}).get("locked")
            and not c.metadata.get("nbgrader", {}).get("grade"))
        try:
            run_sync(self._run_all)()
        finally:
            if self._judge.started is not None and self._judge.started.done() and \
                    self._judge.started.exception() is not None:
                run_sync(self._judge.stop)()  # it failed: the next notebook starts another
            for job in self._job_dirs:
                shutil.rmtree(job, ignore_errors=True)
                _remove_cgroups_soon(os.path.basename(job))
        self.report.truncated = [self._cell_name(i) for i in sorted(self._truncated)]
        for index, cell in enumerate(self.nb.cells):
            for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
                if out.get("output_type") == "error":
                    self.report.saw_error(self._cell_name(index), out.get("ename"),
                                          out.get("evalue", ""))
        self.report.wall = round(time.time() - started, 3)
        self._write_report(resources)
        return self.nb, self.resources

    def _cell_name(self, index):
        meta = self.nb.cells[index].metadata.get("nbgrader", {})
        return meta.get("grade_id") or f"cell-{index}"

    def _write_report(self, resources):
        info = (resources or {}).get("nbgrader", {})
        if not self.report_dir or not info:
            return
        path = Path(self.report_dir, info["student"], info["assignment"],
                    info["notebook"] + ".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self.report), indent=1))

    def _events(self):
        try:
            path = self.km.connection_file + ".events"
            with open(path) as f:
                return [json.loads(line) for line in f if line.strip()]
        except (OSError, AttributeError, ValueError):
            return []

    async def _silent(self, code, timeout, expressions=None):
        """Run code in the kernel without output; return its reply content (or None)."""
        msg_id = self.kc.execute(code, silent=True, store_history=False,
                                 user_expressions=expressions or {}, allow_stdin=False)
        return await shell_reply(self.kc, msg_id, timeout)

    async def _tamper(self, action):
        expr = f"__import__('autograders.tamper', fromlist=['{action}']).{action}()"
        reply = await self._silent("", timeout=30, expressions={"t": expr})
        try:
            text = reply["user_expressions"]["t"]["data"]["text/plain"]
            return ast.literal_eval(text)
        except Exception:
            return None

    @property
    def language(self):
        """The language of the notebook, which the notes for the student speak."""
        return language_of(self.nb)

    def _not_run(self, index, why):
        cell = self.nb.cells[index]
        if cell.cell_type != "code" or not cell.source.strip():
            return
        cell.outputs = [_error("NotRun", why)]
        self.report.not_run.append(self._cell_name(index))

    async def _run_all(self):
        """Run every cell; after a dead kernel, go on in a fresh one (a few times)."""
        if self._judge.started is None:  # beside the student's kernel
            self._judge.started = asyncio.ensure_future(self._judge.start())
        cells = self.nb.cells
        start, done = 0, []  # first cell still to run; cells run fine so far
        while start < len(cells):
            self.km, self.kc = None, None
            asked, stopping = time.monotonic(), None
            async with self.async_setup_kernel():
                self.report.starting += round(time.monotonic() - asked, 3)
                await self._tamper("snapshot")
                await self._rebuild_state(done)
                resume = await self._run_from(start, done)
                if resume is None:
                    for family, names in ((await self._tamper("changed")) or {}).items():
                        self.report.tamper.setdefault(family, []).extend(names[:20])
                    resume = len(cells)
                elif resume < len(cells) and await self.kc.is_alive():
                    await self.km.shutdown_kernel(now=True)
                self.report.events.extend(self._events()[-20:])
                stopping = time.monotonic()
                await self._kill_kernel_now()
            if stopping is not None:
                self.report.stopping += round(time.monotonic() - stopping, 3)
            start = resume
            if start < len(cells) and not self._may_restart(start):
                break

    async def _kill_kernel_now(self):
        """Kill the kernel's process group (its proxy and what the proxy started, as
        jupyter_client's shutdown does) and reap the proxy, so that the shutdown, which
        polls a killed kernel every 0.1 s, finds it gone at once: a tenth of a second of
        every notebook."""
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        if process is None or process.poll() is not None:
            return
        try:
            await provisioner.kill()
            process.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass  # jupyter_client's shutdown deals with it

    async def _rebuild_state(self, done):
        """A fresh kernel after a dead one: re-run the cells that ran fine, tests aside."""
        for index in done:
            if time.monotonic() > self._deadline:
                break
            cell = self.nb.cells[index]
            if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade"):
                await self._silent(cell.source, max(1, self._deadline - time.monotonic()))

    async def _run_from(self, start, done):
        """Run the cells from ``start``; return where a fresh kernel must go on (None:
        every cell ran in this kernel)."""
        cells = self.nb.cells
        for index in range(start, len(cells)):
            if time.monotonic() > self._deadline:
                self.report.deadline = True
                for later in range(index, len(cells)):
                    self._not_run(later, say_in(self.language,
                                                "the notebook's time limit was reached"))
                return len(cells)
            if not await self._run_cell(index, done):
                return index + 1
        return None

    async def _run_cell(self, index, done):
        """Run one cell; False when the kernel is dead or stuck and must be replaced."""
        cell = self.nb.cells[index]
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            return await self._judged_cell(index)
        self._cell_timed_out = False
        began = time.monotonic()
        try:
            await self.async_execute_cell(cell, index,
                                          execution_count=self.code_cells_executed + 1)
        except DeadKernelError:
            self._kernel_died(index)
            return False
        except CellTimeoutError:  # the interrupt did not stop it
            if any(e.get("kind") == "memory" for e in self._events()):
                self._kernel_died(index)
            else:
                self._timed_out(index, stuck=True)
            return False
        finally:
            if cell.cell_type == "code" and cell.source.strip():
                self.report.seconds[self._cell_name(index)] = round(
                    time.monotonic() - began, 3)
        if self._cell_timed_out:
            self._timed_out(index, stuck=False)
        else:
            done.append(index)
            if meta.get("locked") and not meta.get("grade"):
                await self._tamper("snapshot")  # modules the setup imported
        return True

    async def _judged_cell(self, index):
        """A test cell run by the judge while the student's kernel serves it; False when
        that kernel is dead or stuck and must be replaced."""
        cell = self.nb.cells[index]
        name = self._cell_name(index)
        timeout = self._get_timeout(cell)
        job = os.path.dirname(self.km.connection_file)
        path = os.path.join(job, f"j{index}.sock")
        shared = os.path.join(job, "shared")
        os.makedirs(shared, exist_ok=True)
        os.chmod(shared, 0o777)
        began = time.monotonic()
        serve = self.kc.execute(
            "__import__('autograders.kernel_server', fromlist=['guard_and_serve'])"
            f".guard_and_serve({path!r}, {timeout})",
            silent=True, store_history=False, allow_stdin=False)
        judging = asyncio.ensure_future(self._judge_when_started(cell.source, name, path,
                                                                 shared, timeout))
        serving = asyncio.ensure_future(shell_reply(self.kc, serve, timeout + 5))
        await asyncio.wait([judging, serving], return_when=asyncio.FIRST_COMPLETED)
        if serving.done() and not judging.done():  # served already, or never will
            Path(path + ".gone").touch()
        try:
            verdict = await judging
        except JudgeFailed as exc:
            verdict = {"passed": False, "output": "", "ename": "JudgeError",
                       "evalue": say_in(self.language, "this cell could not be judged: "
                                        "{error}", error=exc), "flagged": []}
            self.report.judge_errors.append(name)
        self.report.judging[name] = round(time.monotonic() - began, 3)
        outputs = []
        if verdict.get("output"):
            outputs.append(new_output("stream", name="stdout", text=verdict["output"]))
        if not verdict.get("passed"):
            outputs.append(_error(verdict.get("ename") or "CheckFailure",
                                  verdict.get("evalue") or ""))
        cell.outputs = outputs
        cell.execution_count = None
        if verdict.get("flagged"):
            self.report.flagged[name] = verdict["flagged"][:20]
        await asyncio.wait([serving], timeout=5)
        if not serving.done():
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)
        elif serving.result() is not None:
            return True
        if not await self.kc.is_alive():
            self._kernel_died(index)
            return False
        await self.km.interrupt_kernel()  # the student's code is still running
        if await shell_reply(self.kc, serve, 5) is None:
            self._timed_out(index, stuck=True)
            return False
        self._timed_out(index, stuck=False)
        return True

    async def _judge_when_started(self, source, name, path, shared, timeout):
        try:
            await self._judge.started
        except Exception as exc:
            raise JudgeFailed(say("the judge kernel did not start: {error}",
                                  error=exc)) from None
        return await self._judge.judge(self._setup, source, name, path, shared, timeout,
                                       self.language)

    def _may_restart(self, start):
        """Count a fresh kernel; past the limit the cells left are marked not run."""
        self.report.restarts += 1
        if self.report.restarts > self.max_restarts:
            for later in range(start, len(self.nb.cells)):
                self._not_run(later, say_in(self.language,
                                            "the kernel died too many times"))
            return False
        return True

    def _timed_out(self, index, stuck):
        past = time.monotonic() > self._deadline
        if past:
            self.report.deadline = True
        self.report.timeouts.append(self._cell_name(index))
        if past:
            note = say_in(self.language, "this cell ran past the notebook's time limit")
        else:
            note = say_in(self.language, "this cell ran past the {limit} s cell limit",
                          limit=self.timeout)
        if stuck:
            note = say_in(self.language, "{note} and could not be interrupted", note=note)
        note = _error("CellTimeoutError", note)
        cell = self.nb.cells[index]
        if not any(o.get("ename") == "CellTimeoutError" for o in cell.get("outputs", [])):
            cell.outputs = list(cell.get("outputs", [])) + [note]

    def _kernel_died(self, index):
        events = self._events()
        kinds = {e.get("kind") for e in events}
        cell = self.nb.cells[index]
        if "memory" in kinds:
            limit = max(e.get("limit", 0) for e in events if e.get("kind") == "memory")
            self.report.memory.append(self._cell_name(index))
            note = _error("MemoryLimit", say_in(
                self.language, "the kernel was stopped: it used more than {gib:.1f} GiB "
                "of memory", gib=limit / 2**30))
        elif "hard-limit" in kinds:
            self.report.deadline = True
            self.report.timeouts.append(self._cell_name(index))
            note = _error("CellTimeoutError", say_in(
                self.language, "the kernel was stopped at the notebook's time limit"))
        else:
            self.report.crashes.append(self._cell_name(index))
            note = _error("KernelDied", say_in(
                self.language, "the kernel died while running this cell (os._exit, "
                "exit(), a crash or a signal)"))
        cell.outputs = list(cell.get("outputs", [])) + [note]


_JUDGE = {}


def _remove_cgroups_soon(name):
    """The kernel's keeper removes its cgroups a few milliseconds after the kernel ends,
    unless it was killed first: try now, and again meanwhile, not in the next notebook's
    way."""
    if not remove_cgroups(name, wait=0):
        import threading
        threading.Thread(target=remove_cgroups, args=(name,), daemon=True,
                         name="remove-cgroups").start()


def _judge_for(kernel_name, job_root, startup_timeout, notebook_timeout):
    """This worker's judge kernel, kept for the notebooks that follow (it holds nothing of
    a student's between them: each test cell starts from a fresh run of the setup cell).
    A fresh one when the last failed, or when a whole notebook would no longer fit in
    what its proxy allows a kernel (``AUTOGRADERS_HARD_LIMIT``, wall and CPU seconds)."""
    judge = _JUDGE.get("kernel")
    lifetime = float(os.environ.get("AUTOGRADERS_HARD_LIMIT") or 0) or notebook_timeout + 60
    if judge is not None and (judge.failed() or judge.age() > lifetime - notebook_timeout
                              or judge.job_root != job_root):
        run_sync(judge.stop)()
        judge = None
    if judge is None:
        judge = _JUDGE["kernel"] = JudgeKernel(kernel_name, job_root, startup_timeout)
    return judge


def stop_judge():
    """At the worker's end (and before a fresh judge)."""
    judge = _JUDGE.pop("kernel", None)
    if judge is not None:
        run_sync(judge.stop)()


class FeedbackFilter(NbGraderPreprocessor):
    """Feedback for students: test results and failure messages, not hidden test code.

    Graded cells lose their ``### BEGIN/END HIDDEN TESTS`` regions (as in the release
    copy), and their error outputs keep only the message (a traceback would quote lines
    of the hidden tests).
    """

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            cell.source = re.sub(r"[ \t]*### BEGIN HIDDEN TESTS[\s\S]*?### END HIDDEN TESTS"
                                 r"[ \t]*\n?", "", cell.source)
            cell.source = re.sub(r"[ \t]*### BEGIN HIDDEN TESTS[\s\S]*", "", cell.source)
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename')}: {out.get('evalue')}"]
        return cell, resources


# ----------------------------------------------------------------------------------------
# The worker process

_STATE = {}


def course_config(course, settings):
    """The course's nbgrader config plus what grading needs (traitlets ``Config``)."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import CheckCellMetadata, GetGrades
    from traitlets.config.loader import Config, PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    extra = Config()
    extra.CourseDirectory.root = str(course)
    extra.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    default = Autograde.class_traits()["autograde_preprocessors"].default()
    # the metadata was checked in the sanitize step, and running the cells keeps it
    pps = [SafeExecute if p is Execute else p for p in default if p is not CheckCellMetadata]
    extra.Autograde.autograde_preprocessors = pps
    extra.Autograde.create_student = True
    extra.BaseConverter.force = True
    # nbconvert checks the whole notebook against its schema after every preprocessor;
    # once, after the last, fails the same notebooks
    extra.Exporter.optimistic_validation = True
    extra.Execute.kernel_name = KERNEL_NAME
    if settings.get("cell_timeout"):
        extra.Execute.timeout = int(settings["cell_timeout"])
    extra.Execute.startup_timeout = 120
    extra.SafeExecute.notebook_timeout = int(settings["notebook_timeout"])
    extra.SafeExecute.max_output_bytes = int(settings["max_output_bytes"])
    extra.SafeExecute.report_dir = str(course / "reports")
    extra.SafeExecute.job_root = settings["job_root"]
    extra.GenerateFeedback.preprocessors = [GetGrades, FeedbackFilter,
                                            CSSHTMLHeaderPreprocessor]
    cfg.merge(extra)
    return cfg


def write_kernelspec(folder, zygote_socket):
    """The grading kernel: the proxy, forking from the zygote when there is one."""
    import sys
    spec = Path(folder, "kernels", KERNEL_NAME)
    spec.mkdir(parents=True, exist_ok=True)
    # without site (20 ms of every proxy's start): the course's root on its path instead
    argv = [sys.executable, "-S", "-c", PROXY_MAIN.format(root=str(ROOT))]
    if zygote_socket:
        argv += ["--socket", zygote_socket]
    argv += ["-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({
        "argv": argv, "display_name": "nn-course grading", "language": "python",
        "interrupt_mode": "signal", "metadata": {"debugger": False}}, indent=1))
    return spec


def init_worker(settings):
    """Set up this worker's course folder (the ``ProcessPoolExecutor`` initializer)."""
    import sys
    course = Path(settings["scratch"], f"worker-{os.getpid()}")
    course.mkdir(parents=True)
    shutil.copy(settings["config"], course / "nbgrader_config.py")
    for aid, folder in settings["sources"].items():
        for path in extra_files(folder):
            dest = course / "source" / aid / path.relative_to(folder)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, dest)
        (course / "source" / aid).mkdir(parents=True, exist_ok=True)
    write_kernelspec(course / "jupyter", settings.get("zygote_socket"))
    os.environ["JUPYTER_PATH"] = str(course / "jupyter")
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    os.environ.update(settings.get("kernel_env", {}))
    import warnings
    warnings.filterwarnings("ignore")  # nbgrader's SQLAlchemy chatter, on every submission
    _fast_sqlite()
    compile_metadata_schema()
    share_engines()
    handler = logging.FileHandler(course / "nbgrader.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in ("traitlets", "nbgrader", "NotebookClient", "Autograde", ""):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.WARNING)
        logger.propagate = False
    _STATE.update(course=course, settings=settings, cfg=course_config(course, settings))
    from multiprocessing.util import Finalize
    Finalize(None, stop_judge, exitpriority=10)  # the judge kernel ends with the worker
    _exit_with_owner(settings["owner"])
    _cap_own_memory(settings["worker_memory"])


def _exit_with_owner(owner, interval=0.5):
    """A worker whose owner died (the grader killed, its Dask worker gone with its
    machine) ends too: nothing would send it work again. Its kernels' proxies watch it
    in turn. The owner, not the parent: workers fork from a server that lives as long as
    they do."""
    import threading
    try:
        gone = os.pidfd_open(owner)
    except (AttributeError, OSError):  # no pidfd (Linux < 5.3): ask now and then
        gone = None

    def watch():
        if gone is not None:
            import select
            select.select([gone], [], [])
        else:
            while alive(owner):
                time.sleep(interval)
        os._exit(1)
    threading.Thread(target=watch, name="exit-with-owner", daemon=True).start()


def _cap_own_memory(extra):
    """A notebook that takes gigabytes to parse or convert fails in this worker (its row
    becomes ``error``), not the machine. Only the soft limit: the kernel proxies this
    worker starts set their own."""
    import resource
    with open("/proc/self/statm") as f:
        mapped = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = mapped + extra if hard == resource.RLIM_INFINITY else min(mapped + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _fast_sqlite():
    """A worker's gradebook is scratch: no fsync on every commit (the record keeps it)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _pragmas(connection, record):
        cursor = connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA journal_mode=MEMORY")
        cursor.close()


def _converter(kind, student, assignment):
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory

    from autograders.feedback import FeedbackConverter
    cfg = _STATE["cfg"]
    coursedir = CourseDirectory(config=cfg)
    coursedir.student_id = student
    coursedir.assignment_id = assignment
    cls = Autograde if kind == "autograde" else FeedbackConverter
    converter = cls(coursedir=coursedir, config=cfg)
    quiet = logging.getLogger("nbgrader-worker")
    quiet.handlers[:] = logging.getLogger("traitlets").handlers
    quiet.setLevel(logging.WARNING)
    quiet.propagate = False
    converter.log = quiet
    return converter


def flag_for_review(db_url, result):
    """A cell where the judge saw a forbidden call scores zero and waits for a human in
    formgrader (the student's kernel could have hidden the call: a finding, not a proof)."""
    from nbgrader.api import Gradebook

    flagged = {(nb, cell) for nb, report in result.reports.items() for cell in report.flagged}
    if not flagged:
        return
    with Gradebook(db_url) as gb:
        for nb, cell in flagged:
            try:
                grade = gb.find_grade(cell, nb, result.assignment, result.student)
            except Exception:
                continue
            grade.needs_manual_grade = True
        gb.db.commit()


def read_grades(db_url, result):
    """Put the grades, comments and timestamp of one submission into ``result``."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        sub = gb.find_submission(result.assignment, result.student)
        for nb in sub.notebooks:
            result.grades[nb.name] = {
                g.name: {"auto_score": g.auto_score, "max_score": g.max_score,
                         "needs_manual_grade": bool(g.needs_manual_grade)}
                for g in nb.grades}
            result.comments[nb.name] = {c.name: c.auto_comment for c in nb.comments}
        result.timestamp = sub.timestamp.isoformat() if sub.timestamp else None


class _Clock:
    """Wall and CPU seconds of the steps of a job (for the benchmark)."""

    def __init__(self):
        self.laps = {}
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self, name):
        wall, cpu = time.perf_counter(), time.process_time()
        self.laps[name] = [round(wall - self.wall, 3), round(cpu - self.cpu, 3)]
        self.wall, self.cpu = wall, cpu


def grade_job(job):
    """Grade one submission (``job`` names a staged folder of repaired notebooks); return
    a ``JobResult``."""
    course, began = _STATE["course"], time.time()
    clock = _Clock()
    if not (course / "gradebook.db").exists():  # the record is ready once jobs come
        shutil.copy(_STATE["settings"]["gradebook"], course / "gradebook.db")
    student, assignment = job["student"], job["assignment"]
    result = JobResult(student, assignment, worker=os.getpid())
    try:
        dest = course / "submitted" / student / assignment
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(job["staged"], dest)
        for sub in ("autograded", "feedback", "reports"):
            shutil.rmtree(course / sub / student / assignment, ignore_errors=True)
        clock.lap("copy")
        _converter("autograde", student, assignment).start()
        clock.lap("autograde")
        for path in sorted((course / "reports" / student / assignment).glob("*.json")):
            result.reports[path.stem] = NotebookReport(**json.loads(path.read_text()))
        flag_for_review(_STATE["cfg"].CourseDirectory.db_url, result)
        read_grades(_STATE["cfg"].CourseDirectory.db_url, result)
        clock.lap("read")
        try:
            _converter("feedback", student, assignment).start()
        except Exception:
            result.feedback_error = traceback.format_exc(limit=3)[-2000:]
        clock.lap("feedback")
        result.timing = clock.laps
        result.autograded = str(course / "autograded" / student / assignment)
        result.feedback = str(course / "feedback" / student / assignment)
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"[:2000]
        log = course / "nbgrader.log"
        if log.exists():
            result.error += "\n" + log.read_text()[-2000:]
    except SystemExit as exc:  # nbgrader exits on some failures
        result.error = say("nbgrader stopped (exit {code})", code=exc.code)
    result.seconds = round(time.time() - began, 3)
    return result
