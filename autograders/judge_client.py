"""The grader's side of the judge: a kernel of its own per notebook, asked cell by cell.

The judge kernel starts like a grading kernel (forked from the zygote, in a sandbox of its
own when grading is sandboxed) but never runs a line of the student's code: it gets the
setup cell and one test cell at a time and answers with a verdict (``autograders.judge``).
Its job folder holds the student's kernels' job folders, so it reaches the socket each
student kernel serves on and the files the student's code writes for a test (the test's
temporary folders go there), while the student's kernel sees only its own folder.
"""
import ast
import asyncio
import os
import shutil
import tempfile
import time

from jupyter_core.utils import run_sync

from autograders.sandbox import remove_cgroups


async def shell_reply(kc, msg_id, timeout):
    """The content of the kernel's reply to the request ``msg_id`` on the shell channel of
    the client ``kc``; None when none came in ``timeout`` seconds or the kernel died."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            msg = await kc.shell_channel.get_msg(timeout=left)
        except Exception:
            if not await kc.is_alive():
                return None
            continue
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg["content"]


class JudgeFailed(RuntimeError):
    """The judge kernel did not give a verdict (it died or ran out of time)."""


class JudgeKernel:
    def __init__(self, kernel_name, job_root, startup_timeout=60):
        self.kernel_name, self.job_root = kernel_name, job_root
        self.startup_timeout = startup_timeout
        self.job = tempfile.mkdtemp(prefix="nnj-", dir=job_root)
        self.km = self.kc = None
        self.started = None  # the start, a task of the event loop, once asked for
        self.born = time.monotonic()

    def age(self):
        return time.monotonic() - self.born

    def failed(self):
        """Its start failed, or it died since."""
        if self.started is None or not self.started.done():
            return False
        if self.started.cancelled() or self.started.exception() is not None:
            return True
        return not run_sync(self.km.is_alive)()

    async def start(self):
        from jupyter_client.manager import AsyncKernelManager
        self.km = AsyncKernelManager(kernel_name=self.kernel_name)
        self.km.transport = "ipc"
        self.km.connection_file = os.path.join(self.job, "kernel.json")
        self.km.ip = os.path.join(self.job, "k")
        await self.km.start_kernel()
        self.kc = self.km.client()
        self.kc.start_channels()
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if time.monotonic() > deadline or not await self.km.is_alive():
                raise JudgeFailed("the judge kernel did not start")
            if await shell_reply(self.kc, self.kc.kernel_info(), 0.5) is not None:
                break
        await self.ask("__import__('autograders.judge', fromlist=['prepare']).prepare()", 120)

    async def ask(self, expression, timeout):
        """The value of ``expression`` in the judge kernel (a literal: a dict, a string)."""
        msg_id = self.kc.execute("", silent=True, store_history=False, allow_stdin=False,
                                 user_expressions={"v": expression})
        content = await shell_reply(self.kc, msg_id, timeout)
        if content is None:
            raise JudgeFailed("the judge kernel gave no answer in time")
        found = content.get("user_expressions", {}).get("v", {})
        if found.get("status") != "ok":
            raise JudgeFailed(f"the judge failed: {found.get('ename')}: {found.get('evalue')}")
        return ast.literal_eval(found["data"]["text/plain"])

    def student_folder(self):
        """A job folder for a student's kernel, inside the judge's."""
        return tempfile.mkdtemp(prefix="nnk-", dir=self.job)

    async def judge(self, setup, source, grade_id, socket_path, shared, timeout,
                    language="en"):
        """The verdict on one test cell (see ``autograders.judge.run_cell``)."""
        call = (f"__import__('autograders.judge', fromlist=['run_cell']).run_cell("
                f"{setup!r}, {source!r}, {grade_id!r}, {socket_path!r}, {timeout!r}, "
                f"shared={shared!r}, language={language!r})")
        return await self.ask(call, timeout + 30)

    async def stop(self):
        if self.started is not None:
            await asyncio.gather(self.started, return_exceptions=True)
        try:
            if self.kc is not None:
                self.kc.stop_channels()
            if self.km is not None and self.km.has_kernel:
                await self.km.shutdown_kernel(now=True)
        except Exception:
            pass
        shutil.rmtree(self.job, ignore_errors=True)
        remove_cgroups(os.path.basename(self.job))
