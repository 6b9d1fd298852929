"""The kernel process that jupyter_client starts when grading: it watches the real kernel.

The grading kernelspec runs ``python -m autograders.kernel_proxy [--socket PATH] -f
CONNECTION_FILE``. The proxy gets the real kernel either forked from the zygote
(``--socket``, see ``autograders.zygote``) or, without a zygote, started as a child
process (``python -m ipykernel_launcher``). It stays small (standard library only, started
without ``site``: it starts once per notebook) and, while the kernel runs:

- forwards SIGINT (an interrupt from jupyter_client) and SIGTERM to the kernel;
- measures the resident memory of the kernel and its children ten times a second and
  kills them when it passes the cap (``AUTOGRADERS_MEMORY`` bytes);
- kills the kernel when it outlives its notebook's hard limit
  (``AUTOGRADERS_HARD_LIMIT`` seconds) or when the grader that started it is gone;
- writes what it did, one JSON object a line, to ``CONNECTION_FILE.events``;
- exits with the kernel's exit code when the kernel ends, so jupyter_client sees a dead
  kernel exactly when the kernel is dead.
"""
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _descendants(pid, limit=4096):
    """The pids below ``pid``, from ``/proc/PID/task/TID/children`` (psutil's way, without
    importing psutil: 30 ms of every proxy's start)."""
    found, todo = [], [pid]
    while todo and len(found) < limit:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{parent}/task/{tid}/children") as f:
                    children = [int(c) for c in f.read().split()]
            except (OSError, ValueError):
                continue
            found += children
            todo += children
    return found


def _tree_rss(pid):
    return _rss(pid) + sum(_rss(child) for child in _descendants(pid))


class Orphaned(Exception):
    """The grader's process that started this proxy is gone."""


class Kernel:
    def __init__(self, args, grader):
        self.grader = grader  # the pid of the process that started this proxy
        self.connection_file = os.path.abspath(args["connection_file"])
        self.events = self.connection_file + ".events"
        self.memory = int(os.environ.get("AUTOGRADERS_MEMORY") or 0)
        self.hard_limit = float(os.environ.get("AUTOGRADERS_HARD_LIMIT") or 0)
        sandbox = os.environ.get("AUTOGRADERS_SANDBOX")
        self.sandbox = json.loads(sandbox) if sandbox else None
        self.pid = None
        self.popen = None
        self.conn = None

    def event(self, **what):
        what["time"] = round(time.time(), 3)
        with open(self.events, "a") as f:
            f.write(json.dumps(what) + "\n")

    def start_forked(self, path, extra):
        self.conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.conn.connect(path)
        env = dict(os.environ)
        if self.sandbox is not None:  # the grader's environment never reaches the zygote
            from autograders.sandbox_env import kernel_environment
            env = kernel_environment(os.environ)
        request = {"connection_file": self.connection_file, "cwd": os.getcwd(),
                   "env": env, "memory": self.memory, "extra_arguments": extra}
        self.conn.sendall((json.dumps(request) + "\n").encode())
        self.buffer = b""
        reply = self._next_message(timeout=60)
        if not reply or "pid" not in reply:
            raise RuntimeError("the zygote did not fork a kernel")
        self.pid = reply["pid"]

    def start_exec(self, extra):
        cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file, *extra]
        if self.sandbox is not None:  # the same sandbox as a forked kernel gets
            from autograders.sandbox import SandboxSpec, code_paths
            spec = SandboxSpec.from_json({
                "job_dir": os.path.dirname(self.connection_file), "read_only": code_paths(),
                "limits": self.sandbox})
            cmd = [sys.executable, "-m", "autograders.sandbox", json.dumps(spec.to_json()),
                   "--", *cmd]
        preexec = None
        if self.memory > 0:
            memory = self.memory

            def preexec():  # a generous address-space cap: torch maps a lot when imported
                import resource
                limit = memory + (8 << 30)
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        # Same process group as the proxy: jupyter_client's kill of the group ends both,
        # and its interrupt (SIGINT to the group) reaches the kernel directly.
        env = dict(os.environ, JPY_PARENT_PID=str(os.getpid()))
        self.popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, preexec_fn=preexec,
                                      env=env)
        self.pid = self.popen.pid

    def _next_message(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.conn], [], [], left)
            if not ready:
                return None
            chunk = self.conn.recv(4096)
            if not chunk:
                return {"exit": None}
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def signal(self, sig):
        if self.pid and self.popen is None:  # an exec'd kernel shares our group
            try:
                os.kill(self.pid, sig)
            except OSError:
                pass

    def kill(self):
        """Kill the kernel and whatever it started (not the proxy)."""
        children = _descendants(self.pid)
        targets = [lambda: os.kill(self.pid, signal.SIGKILL)]
        if self.popen is None:  # a forked kernel leads a session of its own
            targets.insert(0, lambda: os.killpg(self.pid, signal.SIGKILL))
        targets += [lambda c=c: os.kill(c, signal.SIGKILL) for c in children]
        for target in targets:
            try:
                target()
            except Exception:
                pass

    def exit_code(self, timeout):
        """The kernel's exit code when it has ended within ``timeout`` s, else None."""
        if self.popen is not None:
            try:
                return self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                return None
        if self.conn is None:  # the zygote is gone: watch the pid itself
            time.sleep(timeout)
            return None if alive(self.pid) else 1
        message = self._next_message(timeout)
        if message is None:
            return None
        if message.get("exit") is None:
            # The zygote died (maybe killed by a student's kernel): its kernels live on,
            # adopted by init. Keep our end of the socket open (the kernel's lifeline).
            self.lifeline, self.conn = self.conn, None
            return None if alive(self.pid) else 1
        return message["exit"]

    def reaped(self, timeout=5.0):
        """After a kill: the exit code, without trusting anyone else to report it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.exit_code(0.05)
            if code is not None:
                return code
            if not alive(self.pid):
                return -9
            self.kill()
        return -9

    def orphaned(self):
        return os.getppid() != self.grader

    def watch(self):
        started = time.monotonic()
        last_tree = 0.0
        while True:
            code = self.exit_code(0.1)
            if code is not None:
                return code
            now = time.monotonic()
            if self.memory > 0:
                rss = _rss(self.pid)
                if now - last_tree > 1.0 or rss > self.memory:
                    last_tree = now
                    rss = max(rss, _tree_rss(self.pid))
                if rss > self.memory:
                    self.event(kind="memory", rss=rss, limit=self.memory)
                    self.kill()
                    return self.reaped()
            if self.hard_limit and now - started > self.hard_limit:
                self.event(kind="hard-limit", seconds=round(now - started, 1))
                self.kill()
                return self.reaped()
            if self.orphaned():
                self.event(kind="orphaned")
                self.kill()
                return 1


def wait_for_zygote(path, kernel, timeout=600):
    """The zygote may still be importing torch: wait for its socket (or its failure), as
    long as the grader that asked for ``kernel`` is there."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if kernel.orphaned():
            raise Orphaned
        if os.path.exists(path + ".failed") or time.monotonic() > deadline:
            raise FileNotFoundError("the zygote did not start")
        time.sleep(0.05)


def grader_pid():
    """The process that started this proxy, as jupyter_client named it when it did: a
    grader (a grading worker) that died before this line ran has left init or a
    subreaper as the parent, which must not be taken for it."""
    named = os.environ.get("JPY_PARENT_PID", "")
    return int(named) if named.isdigit() else os.getppid()


def parse(argv):
    args = {"socket": None, "connection_file": None, "extra": []}
    i = 0
    while i < len(argv):
        if argv[i] == "--socket":
            args["socket"] = argv[i + 1]
            i += 2
        elif argv[i] == "-f":
            args["connection_file"] = argv[i + 1]
            i += 2
        else:
            args["extra"].append(argv[i])
            i += 1
    return args


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    kernel = Kernel(args, grader_pid())
    signal.signal(signal.SIGINT, lambda *a: kernel.signal(signal.SIGINT))
    signal.signal(signal.SIGTERM, lambda *a: kernel.signal(signal.SIGTERM))
    try:
        if not args["socket"]:
            raise FileNotFoundError("no zygote")
        wait_for_zygote(args["socket"], kernel)
        kernel.start_forked(args["socket"], args["extra"])
    except Orphaned:
        pass
    except (OSError, RuntimeError, ValueError) as exc:
        if args["socket"]:
            kernel.event(kind="no-zygote", error=str(exc))
        if not kernel.orphaned():
            kernel.start_exec(args["extra"])
    if kernel.pid is None:  # the grader went away before a kernel started
        kernel.event(kind="orphaned")
        return 1
    code = kernel.watch()
    return code if isinstance(code, int) and code >= 0 else 1


if __name__ == "__main__":
    sys.exit(main())
