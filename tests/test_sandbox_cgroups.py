"""Each kernel in cgroups of its own where the grader may make them (root, cgroup v1), below
the grader's own, removed after it; elsewhere the rlimits alone, and the summary says so."""
import json
import os
import subprocess
import sys
import tempfile

from autograders import ROOT
from autograders.sandbox import cgroup_dirs, limit_mechanism, remove_cgroups

# A sandboxed process that says where it is and what bounds it, then forks 100 children.
CODE = """
import json, os, sys, time
from autograders.sandbox import Limits, SandboxSpec, code_paths, enter
enter(SandboxSpec(job_dir=sys.argv[1], read_only=code_paths(),
                  limits=Limits(processes=40, memory_bytes=768 << 20)))
cgroups = open("/proc/self/cgroup").read()
children = 0
try:
    while children < 100:
        if os.fork() == 0:
            time.sleep(5)
            os._exit(0)
        children += 1
except OSError:
    pass
print(json.dumps({"cgroups": cgroups, "children": children}))
"""


def _run_sandboxed(job):
    result = subprocess.run([sys.executable, "-c", CODE, job], cwd=ROOT, timeout=120,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_kernels_get_cgroups_of_their_own_or_rlimits():
    job = tempfile.mkdtemp(prefix="nnk-", dir="/tmp")
    name = os.path.basename(job)
    dirs = cgroup_dirs(name)
    try:
        seen = _run_sandboxed(job)
    finally:
        remove_cgroups(name)
        subprocess.run(["rm", "-rf", job], check=False)
    assert seen["children"] < 40, "the process limit did not hold"
    if dirs:   # root with cgroup v1: both controllers, and gone afterwards
        assert limit_mechanism().startswith("cgroups")
        for controller in ("pids", "memory"):
            assert f"nncourse-{name}" in seen["cgroups"], seen["cgroups"]
            assert not os.path.exists(dirs[controller]), dirs[controller]
    else:
        assert limit_mechanism() == "rlimits"
        assert "nncourse-" not in seen["cgroups"]
