"""A sandbox per kernel, made with Linux namespaces: no Docker, no setuid helper.

A grading kernel is forked from the zygote (or started by ``python -m autograders.sandbox``
when there is none) and, while it is still single-threaded, calls :func:`enter`, which

1. as root, drops to an unprivileged uid and gid (``nobody``) after giving that uid the
   kernel's job folder; as another user, keeps that user;
2. sets the per-kernel rlimits (processes, CPU seconds, file size, open files);
3. unshares user, mount, network, pid, IPC and UTS namespaces, and maps its uid to 1000
   inside (never root there);
4. builds a new root on a tmpfs: the system folders, the Python installation, the venv and
   the course's code read-only, an empty ``HOME`` (holding ``IPYTHONDIR``, so no startup
   files) with an empty working folder, a private ``/tmp``, ``/dev/shm`` and ``/dev``, and
   the job folder (the kernel's
   connection file and its ``ipc://`` sockets) read-write; everything else is absent:
   ``source/``, the output folder, every gradebook, other students' files, the grader's
   scratch and home;
5. brings up a loopback interface of its own (``torch.distributed`` on one machine needs
   one; nothing outside the namespace is reachable);
6. forks: the child is pid 1 of the new pid namespace and becomes the kernel, with no
   capabilities left and ``no_new_privs`` set; the parent stays outside, forwards signals,
   and exits with the kernel's code. When the kernel ends, the kernel of Linux kills
   everything in its pid namespace, so nothing a notebook starts outlives its grading, and
   nothing in the sandbox can see, signal or trace a process outside it.

:func:`probe` says whether this machine can make such a sandbox, and if not, why.
"""
import ctypes
import fcntl
import functools
import json
import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field

from autograders.sandbox_env import HOME, kernel_environment

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_SET_PDEATHSIG = 38, 24, 1
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
LINUX_CAPABILITY_VERSION_3 = 0x20080522
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
NOBODY = 65534
INSIDE_UID = 1000
CGROUP_V1 = "/sys/fs/cgroup"
CGROUP_CONTROLLERS = ("pids", "memory")
# What the kernel reads besides the Python installation, the venv and the course code.
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc",
                "/opt")
DEVICES = ("null", "zero", "full", "random", "urandom")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


class SandboxError(RuntimeError):
    """This machine cannot make the sandbox (the message says what is missing)."""


@dataclass
class Limits:
    """Per-kernel limits: rlimits always, cgroups too where the grader may make them."""
    processes: int = 256
    memory_bytes: int = 0         # the memory cgroup's limit (0: none)
    cpu_seconds: int = 0          # 0: none (the wall-clock watchdog still applies)
    file_bytes: int = 256 << 20   # any single file a notebook writes
    open_files: int = 1024
    tmpfs_bytes: int = 512 << 20  # each of HOME, /tmp and /dev/shm


@dataclass
class SandboxSpec:
    """Everything :func:`enter` needs, sent from the grader to the zygote as JSON."""
    job_dir: str                              # read-write: connection file and sockets
    read_only: list = field(default_factory=list)   # Python, venv, course code
    limits: Limits = field(default_factory=Limits)

    def to_json(self):
        return asdict(self)

    @classmethod
    def from_json(cls, data):
        data = dict(data)
        data["limits"] = Limits(**data.get("limits", {}))
        return cls(**data)


def code_paths():
    """The read-only paths a kernel needs: Python, its packages, the course's code."""
    import importlib.util
    paths = {sys.base_prefix, sys.prefix}
    for package in ("nncourse", "autograders"):  # found, not imported (nncourse loads torch)
        paths.add(os.path.dirname(os.path.abspath(importlib.util.find_spec(package).origin)))
    # the installation and the venv (sys.prefix names the venv only when site ran)
    for exe in (os.path.realpath(sys.executable), os.path.abspath(sys.executable)):
        paths.add(os.path.dirname(os.path.dirname(exe)))
    # packages installed outside the prefixes (a user site): site-packages folders only,
    # never the working folder or the course's own root, which holds source/; named by
    # ``site`` too, for a caller started without it (the kernel proxy)
    import site
    for entry in sys.path + site.getsitepackages() + [site.getusersitepackages()]:
        if entry.endswith(("site-packages", "dist-packages")) and os.path.isdir(entry):
            if not any(entry.startswith(p + os.sep) for p in paths):
                paths.add(entry)
    return sorted(p for p in paths if os.path.isdir(p))


# -- system calls ---------------------------------------------------------------------------

def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _unshare(flags):
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def _mount(source, target, fstype, flags, data=None):
    enc = (lambda s: s.encode() if s is not None else None)
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags),
                       enc(data)), f"mount {target}")


def _syscall(table, *args):
    number = table.get(os.uname().machine)
    if number is None:
        raise SandboxError(f"no system call numbers for {os.uname().machine}")
    return _libc.syscall(ctypes.c_long(number), *args)


def _pivot_root(new_root, put_old):
    _check(_syscall(SYS_PIVOT_ROOT, new_root.encode(), put_old.encode()), "pivot_root")


def _drop_capabilities():
    """No capabilities, now or after exec, and no way to gain any (no_new_privs)."""
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break  # past the last capability this kernel knows
    header = struct.pack("Ii", LINUX_CAPABILITY_VERSION_3, 0)
    data = bytes(24)   # two zeroed {effective, permitted, inheritable} triples
    hbuf, dbuf = ctypes.create_string_buffer(header), ctypes.create_string_buffer(data)
    _check(_syscall(SYS_CAPSET, hbuf, dbuf), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")


def _loopback_up():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(s, SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags | IFF_UP, b""))


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


# -- the steps of enter() -------------------------------------------------------------------

def _is_root():
    """Root of the machine, not uid 0 of a user namespace (a rootless container), which can
    map no other uid than its own."""
    if os.geteuid() != 0:
        return False
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return False


def _give_job_to_kernel(spec, as_root):
    """As root: the kernel runs as nobody, so nobody must own its job folder."""
    if as_root:
        os.chmod(spec.job_dir, 0o755)
        for root, dirs, files in os.walk(spec.job_dir):
            for name in [root] + [os.path.join(root, f) for f in files]:
                os.chown(name, NOBODY, NOBODY, follow_symlinks=False)


def _map_ids_of(pid):
    """As root, from outside the new user namespace: root to root (for building the
    sandbox) and the kernel's uid 1000 to nobody; a process cannot map other uids than
    its own from inside."""
    _write(f"/proc/{pid}/uid_map", f"0 0 1\n{INSIDE_UID} {NOBODY} 1\n")
    _write(f"/proc/{pid}/gid_map", f"0 0 1\n{INSIDE_UID} {NOBODY} 1\n")


def _map_ids_from_outside(pid, ready, done):
    """A helper process outside that maps the ids of ``pid`` once it has unshared."""
    helper = os.fork()
    if helper == 0:
        code = 1
        try:
            os.read(ready, 1)
            _map_ids_of(pid)
            code = 0
        finally:
            os.write(done, bytes([code]))
            os._exit(code)
    return helper


class IdMapper:
    """The parent of a sandboxed kernel maps its ids from outside (as root), instead of
    a helper forked from the kernel: the zygote holds torch, and forking a copy of it
    only to write two files cost ~50 ms of CPU per kernel.

    Make one before forking; the child passes it to :func:`enter`, the parent calls
    :meth:`map_child`. Both close their ends, so no kernel keeps them."""

    def __init__(self):
        self.ready_r, self.ready_w = os.pipe()
        self.done_r, self.done_w = os.pipe()

    @staticmethod
    def needed():
        """Only root maps another uid (nobody) from outside."""
        return _is_root()

    def map_child(self, pid, timeout=10.0):
        """In the parent: wait for ``pid`` to unshare, map its ids, say how it went."""
        import select
        os.close(self.ready_w)
        os.close(self.done_r)
        code = 1
        try:
            readable, _, _ = select.select([self.ready_r], [], [], timeout)
            if readable and os.read(self.ready_r, 1) == b"1":  # EOF: it failed before
                _map_ids_of(pid)
                code = 0
        except OSError:
            pass
        finally:
            try:
                os.write(self.done_w, bytes([code]))
            except OSError:  # the child is gone
                pass
            os.close(self.ready_r)
            os.close(self.done_w)

    def ask(self):
        """In the child, just unshared: have the parent map; return whether it did."""
        os.close(self.ready_r)
        os.close(self.done_w)
        try:
            os.write(self.ready_w, b"1")
            return os.read(self.done_r, 1) == b"\0"
        finally:
            os.close(self.ready_w)
            os.close(self.done_r)

    def drop(self):
        """In the child, when it will not ask (not root): the parent sees EOF."""
        for fd in (self.ready_r, self.done_w, self.ready_w, self.done_r):
            os.close(fd)


def _tasks_of(uid):
    """Threads and processes of ``uid`` on the machine (what RLIMIT_NPROC counts)."""
    count = 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat(f"/proc/{pid}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:
                pass
    return count


def _current_cgroups():
    """``{controller: path}`` of this process in the cgroup v1 hierarchies we use."""
    paths = {}
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, names, path = line.rstrip("\n").split(":", 2)
                for name in names.split(","):
                    if name in CGROUP_CONTROLLERS:
                        paths[name] = path
    except (OSError, ValueError):
        pass
    return paths


def cgroup_dirs(name):
    """The cgroup folders of the kernel ``name``, one per controller: as root where cgroup
    v1 is writable, below the grader's own cgroups (so that a host's limits still hold);
    empty elsewhere, where the rlimits alone bound a kernel."""
    dirs = {}
    if not _is_root():
        return dirs
    for controller, path in _current_cgroups().items():
        parent = os.path.join(CGROUP_V1, controller) + path.rstrip("/")
        if os.path.isdir(parent) and os.access(parent, os.W_OK):
            dirs[controller] = os.path.join(parent, f"nncourse-{name}")
    return dirs


def limit_mechanism():
    """How kernels are bounded on this machine, in words (for the run's summary)."""
    dirs = cgroup_dirs("probe")
    return (f"cgroups ({', '.join(sorted(dirs))}) and rlimits" if dirs else "rlimits")


def _join_cgroups(name, limits):
    """Put this process (and so the kernel and all it starts) in cgroups of its own.

    Returns descriptors of their parent folders: the keeper, which no longer sees
    ``/sys`` once the kernel has its new root, leaves and removes them through these.
    """
    values = {"pids": ("pids.max", limits.processes),
              "memory": ("memory.limit_in_bytes", limits.memory_bytes)}
    parents = []
    for controller, path in cgroup_dirs(name).items():
        key, value = values[controller]
        if not value:
            continue
        try:
            os.mkdir(path)
            parents.append(os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY))
            _write(os.path.join(path, key), str(value))
            _write(os.path.join(path, "cgroup.procs"), str(os.getpid()))
        except OSError:  # the rlimits still hold
            try:
                os.rmdir(path)
            except OSError:
                pass
    return parents


def _leave_cgroups(name, parents, wait=5.0):
    """In the keeper, once the kernel is gone: back to the parents, then remove them."""
    deadline = time.monotonic() + wait
    for fd in parents:
        try:
            with open(os.open("cgroup.procs", os.O_WRONLY, dir_fd=fd), "w") as f:
                f.write(str(os.getpid()))
        except OSError:
            continue
        _rmdir_soon(functools.partial(os.rmdir, f"nncourse-{name}", dir_fd=fd), deadline,
                    pause=0.001, longest=0.02)


def remove_cgroups(name, wait=2.0):
    """Remove the kernel's cgroups once its last process is gone (its keeper, which
    removes them too, is gone a few milliseconds after the kernel). True when none is
    left."""
    deadline = time.monotonic() + wait
    removed = [_rmdir_soon(functools.partial(os.rmdir, path), deadline, pause=0.002,
                           longest=0.05) for path in cgroup_dirs(name).values()]
    return all(removed)


def _rmdir_soon(rmdir, deadline, pause, longest):
    """``rmdir()`` of a cgroup until it is done or the cgroup is gone: its last processes
    may still be exiting, so again after ``pause``, twice as long each time up to
    ``longest``, until ``deadline``. False when the cgroup is still there then."""
    while True:
        try:
            rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(pause)
            pause = min(longest, pause * 2)


def _set_limits(limits, as_root):
    processes = limits.processes
    if not as_root:
        # Not root: the kernel keeps our uid, and Linux counts a user's processes across
        # all its namespaces, the grader's own and a desktop's included: allow that many
        # more. (As root the kernel runs as nobody in a namespace of its own, and the
        # limit is its own.)
        processes += _tasks_of(os.geteuid())
    pairs = [(resource.RLIMIT_NPROC, processes),
             (resource.RLIMIT_FSIZE, limits.file_bytes),
             (resource.RLIMIT_NOFILE, limits.open_files),
             (resource.RLIMIT_CORE, 0)]
    if limits.cpu_seconds:
        pairs.append((resource.RLIMIT_CPU, limits.cpu_seconds))
    for which, value in pairs:
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))


def _map_own_ids(uid, gid):
    """As another user: our own uid and gid, as 1000 inside."""
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{INSIDE_UID} {uid} 1")
    _write("/proc/self/gid_map", f"{INSIDE_UID} {gid} 1")


def _bind(source, target, read_only=True, recursive=True):
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            open(target, "w").close()
    _mount(source, target, None, MS_BIND | (MS_REC if recursive else 0))
    if read_only:
        # a remount in a user namespace must keep the flags the original mount locked
        st = os.statvfs(source)
        kept = (MS_NOSUID if st.f_flag & os.ST_NOSUID else 0) | \
               (MS_NODEV if st.f_flag & os.ST_NODEV else 0) | \
               (MS_NOEXEC if st.f_flag & os.ST_NOEXEC else 0)
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | kept)


def _tmpfs(target, size, mode="0755"):
    os.makedirs(target, exist_ok=True)
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={size},mode={mode},uid={INSIDE_UID},gid={INSIDE_UID}")


def _build_root(spec, new_root, workdir):
    """The kernel's whole filesystem, under ``new_root``."""
    _mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755")
    for path in SYSTEM_PATHS:
        if os.path.islink(path):          # merged /usr: /bin -> usr/bin
            os.symlink(os.readlink(path), new_root + path)
        elif os.path.isdir(path):
            _bind(path, new_root + path)
    # the private folders before the course's code: a clone in /tmp stays visible
    _tmpfs(new_root + "/tmp", spec.limits.tmpfs_bytes, "1777")
    _tmpfs(new_root + HOME, spec.limits.tmpfs_bytes, "0700")
    for path in spec.read_only:
        _bind(path, new_root + path)
    os.makedirs(new_root + "/dev", exist_ok=True)
    _mount("tmpfs", new_root + "/dev", "tmpfs", MS_NOSUID, "size=1m,mode=0755")
    for name in DEVICES:
        _bind("/dev/" + name, f"{new_root}/dev/{name}", read_only=False)
    _tmpfs(new_root + "/dev/shm", spec.limits.tmpfs_bytes, "1777")
    os.symlink("/proc/self/fd", new_root + "/dev/fd")
    for i, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{i}", f"{new_root}/dev/{name}")
    _bind(spec.job_dir, new_root + spec.job_dir, read_only=False, recursive=False)
    os.makedirs(new_root + "/proc", exist_ok=True)
    # the working folder starts empty: the notebook nbgrader runs holds the hidden tests
    # (restored from the gradebook), and the kernel gets its cells over the channels
    os.makedirs(new_root + workdir, exist_ok=True)
    os.makedirs(new_root + HOME + "/.ipython", exist_ok=True)
    os.makedirs(new_root + "/.old", exist_ok=True)


def _forward_signals(pid):
    def forward(signum, frame):
        try:
            os.kill(pid, signum)
        except OSError:
            pass
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, forward)


def _keep(pid, lifeline):
    """Outside the sandbox: wait for the kernel; kill it when ``lifeline`` (a socket whose
    other end is the kernel's proxy) closes. No thread: a process that has unshared its
    pid namespace cannot start one."""
    import select
    try:  # readable when the kernel ends: the worker waits on its cgroups' removal
        ended = [os.pidfd_open(pid)]
    except (AttributeError, OSError):  # before Linux 5.3: a look every 0.1 s
        ended = []
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return 1
        if done:
            return os.waitstatus_to_exitcode(status)
        watched = ended + ([lifeline] if lifeline is not None else [])
        if not watched:
            time.sleep(0.1)
            continue
        readable, _, _ = select.select(watched, [], [], None if ended else 0.1)
        if lifeline in readable:
            try:
                data = lifeline.recv(1024)
            except OSError:
                data = b""
            if not data:
                os.kill(pid, signal.SIGKILL)
                lifeline = None


def _unshare_and_map(as_root, mapper=None):
    uid, gid = os.geteuid(), os.getegid()
    if mapper is not None and not as_root:
        mapper.drop()
        mapper = None
    helper = None
    if as_root:
        os.setgroups([])
        if mapper is None:
            ready_r, ready_w = os.pipe()
            done_r, done_w = os.pipe()
            helper = _map_ids_from_outside(os.getpid(), ready_r, done_w)
    try:
        _unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC
                 | CLONE_NEWUTS)
    except OSError as exc:
        if helper is not None:
            os.kill(helper, signal.SIGKILL)
            os.waitpid(helper, 0)
        if mapper is not None:
            mapper.drop()
        raise SandboxError(f"cannot make namespaces ({exc.strerror}): unprivileged user "
                           "namespaces are off, or a seccomp profile blocks them") from exc
    if mapper is not None:
        ok = mapper.ask()
    elif helper is not None:
        os.write(ready_w, b"1")
        ok = os.read(done_r, 1) == b"\0"
        os.waitpid(helper, 0)
        for fd in (ready_r, ready_w, done_r, done_w):
            os.close(fd)
    else:
        _map_own_ids(uid, gid)
        ok = True
    if not ok:
        raise SandboxError("cannot map the kernel's uid to nobody")


def _become_kernel(new_root, workdir, as_root):
    """In pid 1 of the new namespace: the final root, the kernel's uid, no capabilities."""
    _mount("proc", new_root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir(new_root)
    _pivot_root(".", ".old")
    _check(_libc.umount2(b"/.old", MNT_DETACH), "umount old root")
    os.rmdir("/.old")
    _mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    if as_root:  # from root of the namespace to 1000 (nobody outside): capabilities go
        os.setresgid(INSIDE_UID, INSIDE_UID, INSIDE_UID)
        os.setresuid(INSIDE_UID, INSIDE_UID, INSIDE_UID)
    _drop_capabilities()
    # a session of our own: not even kill(0) reaches the keeper outside; and when the
    # keeper dies (killed by the proxy), so does the kernel, and with it the namespace
    os.setsid()
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(pdeathsig)")
    os.chdir(workdir)


def enter(spec, lifeline=None, mapper=None):
    """Put this (single-threaded) process in a new sandbox; return in the kernel only.

    The process that called ``enter`` stays outside as the kernel's keeper: it waits for
    the kernel, kills it when the socket ``lifeline`` closes, and exits with its code.
    Only the kernel returns; it must close ``lifeline`` itself. ``mapper``: an
    :class:`IdMapper` whose other end the parent serves (else a helper maps the ids).
    """
    spec = spec if isinstance(spec, SandboxSpec) else SandboxSpec.from_json(spec)
    as_root = _is_root()
    workdir = HOME + "/work"
    new_root = os.path.join(spec.job_dir, ".root")
    os.makedirs(new_root, exist_ok=True)
    _give_job_to_kernel(spec, as_root)
    name = os.path.basename(spec.job_dir)
    cgroups = _join_cgroups(name, spec.limits)
    _set_limits(spec.limits, as_root)
    _unshare_and_map(as_root, mapper)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _build_root(spec, new_root, workdir)
    _loopback_up()
    socket.sethostname("sandbox")
    pid = os.fork()   # the child is pid 1 of the new pid namespace
    if pid:
        _forward_signals(pid)
        code = _keep(pid, lifeline)
        _leave_cgroups(name, cgroups)
        os._exit(code)
    for fd in cgroups:
        os.close(fd)
    _become_kernel(new_root, workdir, as_root)
    return workdir


def probe(timeout=30):
    """``None`` when a sandbox can be made here, else what is missing (one line)."""
    import shutil
    import tempfile
    job = tempfile.mkdtemp(prefix="nnprobe-")
    code = ("import os, sys\n"
            "from autograders.sandbox import SandboxSpec, code_paths, enter\n"
            "paths = code_paths()\n"
            "enter(SandboxSpec(job_dir=sys.argv[1], read_only=paths))\n"
            "assert os.getuid() != 0 and os.getpid() == 1\n"
            "missing = [p for p in paths if not os.listdir(p)]\n"
            "assert not missing, f'the course code is not visible inside: {missing}'\n"
            "print('ok')\n")
    try:
        result = subprocess.run([sys.executable, "-c", code, job], capture_output=True,
                                text=True, timeout=timeout,
                                env={"PATH": os.environ.get("PATH", "")})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the sandbox probe did not run: {exc}"
    finally:
        shutil.rmtree(job, ignore_errors=True)
        remove_cgroups(os.path.basename(job))
    if result.returncode == 0 and result.stdout.strip() == "ok":
        return None
    last = (result.stderr.strip().splitlines() or ["no output"])[-1]
    return f"no sandbox can be made on this machine: {last}"


def main(argv=None):
    """``python -m autograders.sandbox SPEC_JSON -- COMMAND...``: run COMMAND sandboxed."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 3 or argv[1] != "--":
        print(main.__doc__, file=sys.stderr)
        return 2
    spec = SandboxSpec.from_json(json.loads(argv[0]))
    env = kernel_environment(os.environ)
    enter(spec)
    os.execvpe(argv[2], argv[2:], env)


if __name__ == "__main__":
    sys.exit(main())
