"""The environments of the sandbox's processes: what a kernel may see of the grader's.

Apart from ``autograders.sandbox`` so that the kernel proxy, which starts once per
notebook, gets them without importing the sandbox's system calls (standard library
``os`` and ``sys`` only).
"""
import os
import sys

HOME = "/home/student"
# The environment a kernel gets: these names only, whatever the grader's environment held.
KEPT_ENV = ("LANG", "LC_ALL", "TZ", "MPLBACKEND", "PYTHONHASHSEED", "PYTHONPATH",
            "PYTHONWARNINGS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES",
            "NNCOURSE_DEVICE", "NNCOURSE_LANG", "AUTOGRADERS_THREADS",
            "PYDEVD_DISABLE_FILE_VALIDATION")


def kept(environ):
    """The few named variables of ``environ`` that a kernel may see, and a PATH."""
    env = {k: environ[k] for k in KEPT_ENV if k in environ}
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), "/usr/bin", "/bin"])
    return env


def kernel_environment(environ):
    """The kernel's environment: a few named variables, HOME and IPYTHONDIR in the sandbox."""
    return dict(kept(environ), HOME=HOME, IPYTHONDIR=f"{HOME}/.ipython",
                MPLCONFIGDIR=f"{HOME}/.matplotlib", TMPDIR="/tmp", USER="student",
                LOGNAME="student")


def zygote_environment(environ, folder):
    """The environment the zygote starts with. A forked kernel carries the zygote's
    memory, its first environment block included (``/proc/self/environ``): nothing of the
    grader's environment may be in it."""
    return dict(kept(environ), HOME=folder,
                MPLCONFIGDIR=os.path.join(folder, "matplotlib"))
