"""Running nbgrader as a command, the way an instructor would, from Python.

nbgrader shells out to ``alembic`` when it creates a gradebook, so the folder of the running
interpreter (the venv's ``bin/``) must be on PATH even when this is started as
``.venv/bin/python -m autograders`` without the venv activated.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograders import ROOT


def nbgrader_env(extra=None):
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.setdefault("PYTHONWARNINGS", "ignore")
    env.update(extra or {})
    return env


def nbgrader(args, cwd, check=True, timeout=None, env=None):
    """Run ``nbgrader ARGS`` in the course folder ``cwd``; return the CompletedProcess."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    result = subprocess.run(cmd, cwd=cwd, env=nbgrader_env(env), capture_output=True,
                            text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed in {cwd}:\n"
                           f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def scratch_course(folder, assignment_ids, source=ROOT / "source"):
    """Make a course folder: the course config plus the sources of the given assignments
    (from ``source``: the course's own, or a translation's)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    for aid in assignment_ids:
        shutil.copytree(Path(source) / aid, folder / "source" / aid, dirs_exist_ok=True)
    return folder
