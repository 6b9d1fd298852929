"""A forking kernel server: torch is imported once, each notebook gets a fresh fork.

Starting a Python kernel and importing torch and torchvision costs seconds per notebook,
which is most of the time stock ``nbgrader autograde`` spends on a short exercise
notebook. The zygote pays that once: it imports torch, torchvision, nncourse and
ipykernel, then waits on a Unix socket. ``autograders.kernel_proxy`` (the command of the
grading kernelspec) connects and asks for a kernel; the zygote forks, and the child
becomes an ordinary IPython kernel on the connection file that jupyter_client wrote.

Isolation of the child:

- a session of its own (``setsid``), so that signals for the grader never reach it and
  the proxy can kill its whole process group;
- the working folder and environment of the proxy (that is, of the notebook);
- an address-space limit (``RLIMIT_AS``) of the memory cap plus what the zygote had
  mapped already, so a 50 GB allocation fails at once, while importing torch (whose CUDA
  build maps gigabytes of address space) is not affected because it happened before;
- it exits when the proxy goes away (the proxy is the kernel process that
  jupyter_client knows, signals and kills).

The zygote never starts a thread, a zmq context or an OpenMP pool before forking: those
do not survive ``fork``. Linux only (macOS forbids fork after some frameworks load).
"""
import json
import os
import select
import signal
import socket
import sys
import threading
import time

PRELOAD = [
    "torch", "torch.nn", "torch.nn.functional", "torch.optim", "torch.utils.data",
    "torchvision", "numpy", "matplotlib", "matplotlib.pyplot",
    "nncourse", "nncourse.checks", "nncourse.seeding", "nncourse.plotting",
    "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
    "matplotlib_inline.backend_inline", "IPython.core.interactiveshell",
    # what IPKernelApp.initialize imports: 0.1 s of every kernel's start otherwise
    "ipykernel.debugger", "IPython.core.completerlib", "IPython.core.debugger",
    "IPython.core.oinspect", "IPython.extensions.storemagic", "IPython.utils.wildcard",
    "faulthandler", "pdb", "psutil", "tornado.gen", "tornado.locks",
    "tornado.platform.asyncio", "tornado.queues",
    "autograders.sandbox", "autograders.tamper", "autograders.kernel_server",
    # what a judge kernel imports (autograders.judge.prepare): the checks of every chapter
    "autograders.judge", "nncourse.convpool", "nncourse.data", "nncourse.diagnose_activations",
    "nncourse.diagnose_linear", "nncourse.diagnose_losses", "nncourse.diagnose_normalization",
    "nncourse.diagnose_training", "nncourse.models", "nncourse.photo", "nncourse.pretrained",
    "nncourse.training", "nncourse.windows",
]


def preload(modules=PRELOAD, extra=()):
    """Import what every exercise kernel would import at its start (not nncourse's data)."""
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    # A grading kernel has no debugger: without debugpy, ipykernel skips the 0.1 s of
    # importing pydevd at every kernel's start (and a student's code has none to use).
    sys.modules.setdefault("debugpy", None)
    import importlib
    loaded = []
    for name in list(modules) + list(extra):
        try:
            importlib.import_module(name)
            loaded.append(name)
        except Exception:  # an optional module: the child imports it itself if needed
            pass
    if "nncourse" in sys.modules:  # its names imported now, not in every kernel
        nncourse = sys.modules["nncourse"]
        for name in nncourse.__all__:
            getattr(nncourse, name)
    return loaded


def _vm_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _send(conn, obj):
    try:
        conn.sendall((json.dumps(obj) + "\n").encode())
    except OSError:
        pass


def _read_line(conn, limit=1 << 22):
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            raise ValueError("request too long")
    return json.loads(data.decode() or "null")


def _lifeline(conn, kill):
    """The proxy is the kernel's lifeline: when it goes (killed by jupyter_client), so
    does the kernel."""
    def watch():
        try:
            while conn.recv(1024):
                pass
        except OSError:
            pass
        kill()
    threading.Thread(target=watch, daemon=True).start()


def _sandboxed(request, conn, mapper):
    """Enter the sandbox (see ``autograders.sandbox``); return its working folder, in the
    kernel only. (The proxy has sent the kernel's environment, not the grader's.)"""
    from autograders.sandbox import SandboxSpec, enter
    spec = SandboxSpec.from_json(dict(request["sandbox"],
                                      job_dir=os.path.dirname(request["connection_file"])))
    # outside, the kernel dies with its proxy; the zygote maps its ids
    workdir = enter(spec, lifeline=conn, mapper=mapper)
    conn.close()
    return workdir


def _child(listener, conn, request, others=(), mapper=None):
    """Become the kernel described by ``request``; never returns. ``others``: the
    connections of the zygote's other children, which this one must not hold: with a
    copy, a student's code could shut down a classmate's or the judge's lifeline.
    ``mapper``: the ``IdMapper`` the zygote serves for this child's sandbox."""
    code = 1
    try:
        listener.close()
        for other in others:
            other.close()
        os.setsid()
        for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        memory = int(request.get("memory") or 0)
        if memory > 0:
            import resource
            limit = _vm_bytes() + memory + (1 << 30)  # 1 GiB for thread stacks and arenas
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        env = dict(request.get("env") or {})
        if request.get("sandbox") is not None:
            cwd = _sandboxed(request, conn, mapper)
        else:
            cwd = request.get("cwd") or "/"
            _lifeline(conn, lambda: os._exit(1))
        env.pop("JPY_PARENT_PID", None)  # our parent is the zygote, not the grader
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        threads = int(env.get("AUTOGRADERS_THREADS") or 0)
        if threads > 0 and "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)
        hidden = ("", os.getcwd(), request.get("zygote_cwd"))
        sys.path[:] = [p for p in sys.path if p not in hidden]
        sys.argv = ["ipykernel_launcher", "-f", request["connection_file"]]
        from ipykernel.kernelapp import IPKernelApp
        app = IPKernelApp.instance()
        app.initialize(["-f", request["connection_file"],
                        "--HistoryManager.enabled=False",
                        "--HistoryManager.hist_file=:memory:",
                        *request.get("extra_arguments", [])])
        try:  # figures show at the end of a cell, as in a kernel started afresh
            from matplotlib_inline.backend_inline import _enable_matplotlib_integration
            _enable_matplotlib_integration()
        except Exception:
            pass
        app.start()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        code = 1
        try:
            import traceback
            with open(request["connection_file"] + ".events", "a") as f:
                f.write(json.dumps({"kind": "start-failed",
                                    "error": traceback.format_exc(limit=4)[-1500:]}) + "\n")
        except Exception:
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            times = os.times()
            with open(request["connection_file"] + ".events", "a") as f:
                f.write(json.dumps({"kind": "exit", "code": code,
                                    "cpu": round(times.user + times.system, 3)}) + "\n")
        except Exception:
            pass
        os._exit(code)


def serve(path, ready_file=None, sandbox=None):
    """Preload, then fork a kernel for each request on the Unix socket ``path``.

    ``sandbox`` (the limits of ``autograders.sandbox.Limits`` as a dict) puts every kernel
    in a sandbox of its own; None grades without one.
    """
    loaded = preload()
    maps_ids = False
    if sandbox is not None:
        from autograders.sandbox import IdMapper, code_paths
        sandbox = {"limits": sandbox, "read_only": code_paths()}
        maps_ids = IdMapper.needed()
    zygote_cwd = os.getcwd()
    if threading.active_count() != 1:
        raise RuntimeError("the zygote started a thread before forking")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(128)
    # pid -> (connection of the proxy that asked for it, its job folder's name, which
    # names its cgroups)
    children = {}
    stopping = []
    signal.signal(signal.SIGTERM, lambda *a: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *a: stopping.append(1))
    parent = os.getppid()
    if ready_file:
        with open(ready_file + ".tmp", "w") as f:
            json.dump({"pid": os.getpid(), "preloaded": loaded}, f)
        os.replace(ready_file + ".tmp", ready_file)
    try:
        while not stopping and os.getppid() == parent:
            try:
                readable, _, _ = select.select([listener], [], [], 0.05)
            except InterruptedError:
                continue
            if readable:
                conn, _ = listener.accept()
                try:
                    conn.settimeout(10)
                    request = _read_line(conn)
                    conn.settimeout(None)
                    request["zygote_cwd"] = zygote_cwd
                    request["sandbox"] = sandbox
                except (OSError, ValueError):
                    conn.close()
                    continue
                mapper = IdMapper() if maps_ids else None
                pid = os.fork()
                if pid == 0:
                    _child(listener, conn, request, [c for c, _ in children.values()],
                           mapper)
                if mapper is not None:  # a few ms: the child unshares first
                    mapper.map_child(pid)
                children[pid] = (conn, os.path.basename(
                    os.path.dirname(request["connection_file"])))
                _send(conn, {"pid": pid})
            while children:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                conn, _ = children.pop(pid, (None, None))
                if conn is not None:
                    _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
                    conn.close()
    finally:
        for pid in list(children):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        _remove_cgroups_of(children, sandbox is not None)
        listener.close()
        try:
            os.unlink(path)
        except OSError:
            pass


def _remove_cgroups_of(children, sandboxed):
    """Kernels killed with their zygote (its grader or Dask worker gone) had no keeper
    left to remove their cgroups: reap them and remove the cgroups here."""
    for pid in list(children):
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
    if sandboxed and children:
        from autograders.sandbox import remove_cgroups
        for _, name in children.values():
            remove_cgroups(name)


class Zygote:
    """Start a zygote process and stop it again (a context manager)."""

    def __init__(self, folder, sandbox=None):
        self.folder = str(folder)
        self.sandbox = sandbox
        self.socket = os.path.join(self.folder, "zygote.sock")
        self.ready_file = os.path.join(self.folder, "zygote.ready")
        self.process = None

    def start(self):
        import subprocess
        os.makedirs(self.folder, exist_ok=True)
        # A Unix socket path is limited to ~100 bytes: fall back to a short one in /tmp.
        if len(self.socket) > 100:
            import tempfile
            self.socket = os.path.join(tempfile.mkdtemp(prefix="nnz-"), "z.sock")
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        if self.sandbox is not None:
            from autograders.sandbox_env import zygote_environment
            env = dict(zygote_environment(os.environ, self.folder), PYTHONWARNINGS="ignore")
        log = open(os.path.join(self.folder, "zygote.log"), "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograders.zygote", self.socket, self.ready_file,
             json.dumps(self.sandbox)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True, cwd=self.folder)
        log.close()
        return self

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def mark_failed(self):
        """Tell the waiting proxies to start their kernels the slow way."""
        try:
            with open(self.socket + ".failed", "w") as f:
                f.write("the zygote is not running\n")
        except OSError:  # the grading run is over and its scratch folder is gone
            pass

    def wait_ready(self, timeout=300):
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.ready_file):
            if self.process.poll() is not None:
                log = open(os.path.join(self.folder, "zygote.log")).read()[-3000:]
                raise RuntimeError(f"the kernel zygote exited early:\n{log}")
            if time.monotonic() > deadline:
                raise RuntimeError("the kernel zygote did not start in time")
            time.sleep(0.05)
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except Exception:
                self.process.kill()
                self.process.wait()
        for path in (self.socket + ".failed",):
            try:
                os.unlink(path)
            except OSError:
                pass

    def watch(self, stop_event, interval=0.5):
        """Keep a zygote running until ``stop_event`` (run in a thread).

        A zygote that dies before it is ready makes the proxies start their kernels the
        slow way; one that dies later (a student's kernel may kill its parent) is started
        again, and the kernels forked meanwhile start the slow way.
        """
        restarts = 0
        while not stop_event.wait(interval):
            if self.alive() or stop_event.is_set():  # stopped on purpose at the end
                continue
            if not os.path.exists(self.ready_file) or restarts >= 3:
                self.mark_failed()
                return
            restarts += 1
            os.unlink(self.ready_file)
            self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None,
          json.loads(sys.argv[3]) if len(sys.argv) > 3 else None)
    # Its children are gone and it holds nothing to flush: leaving without tearing down
    # torch's modules saves the grader a second at the end of every run.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
