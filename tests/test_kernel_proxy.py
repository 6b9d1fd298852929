"""A kernel's proxy outlives neither its grader nor the grader's death mid-start: a worker
killed (a cluster machine going down, the OOM killer) leaves no proxy and no kernel."""
import json
import os
import signal
import subprocess
import sys
import time

import psutil

from autograders import ROOT

# A grader stand-in: starts one proxy (naming itself its parent, as jupyter_client
# does), says its pid, then waits to be killed.
PARENT = """
import os, subprocess, sys, time
proxy = subprocess.Popen([sys.executable, "-m", "autograders.kernel_proxy", *sys.argv[1:]],
                         env=dict(os.environ, JPY_PARENT_PID=str(os.getpid())))
print(proxy.pid, flush=True)
time.sleep(600)
"""


def _proxy_of_a_killed_parent(args, before_kill_s):
    parent = subprocess.Popen([sys.executable, "-c", PARENT, *args], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    proxy = psutil.Process(int(parent.stdout.readline()))
    time.sleep(before_kill_s)
    tree = [proxy, *proxy.children(recursive=True)]
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)
    gone, alive = psutil.wait_procs(tree, timeout=15)
    for p in alive:
        p.kill()
    return tree, alive


def _events(connection_file):
    with open(connection_file + ".events") as f:
        return [json.loads(line)["kind"] for line in f if line.strip()]


def test_a_proxy_waiting_for_the_zygote_ends_when_its_grader_dies(tmp_path):
    connection_file = str(tmp_path / "kernel.json")
    tree, alive = _proxy_of_a_killed_parent(
        ["--socket", str(tmp_path / "no-zygote.sock"), "-f", connection_file], 1.0)
    assert not alive, f"left behind: {[p.pid for p in alive]}"
    assert "orphaned" in _events(connection_file)


def test_a_proxy_and_its_kernel_end_when_their_grader_dies(tmp_path):
    connection_file = str(tmp_path / "kernel.json")
    tree, alive = _proxy_of_a_killed_parent(["-f", connection_file], 3.0)
    assert len(tree) >= 2, "the proxy started no kernel"
    assert not alive, f"left behind: {[' '.join(p.cmdline())[:120] for p in alive]}"
    assert "orphaned" in _events(connection_file)


def test_a_proxy_whose_grader_died_before_it_started_ends_at_once(tmp_path):
    """A worker that dies as it launches a proxy (its grader killed) leaves init as the
    proxy's parent before the proxy's first line runs: the proxy goes by the pid that
    jupyter_client named, not by its parent then."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    connection_file = str(tmp_path / "kernel.json")
    env = dict(os.environ, JPY_PARENT_PID=str(gone.pid))
    began = time.monotonic()
    proxy = subprocess.run([sys.executable, "-m", "autograders.kernel_proxy", "--socket",
                            str(tmp_path / "no-zygote.sock"), "-f", connection_file],
                           cwd=ROOT, env=env, timeout=60)
    assert time.monotonic() - began < 30, "the proxy waited for a zygote, for nobody"
    assert proxy.returncode == 1
    assert _events(connection_file) == ["orphaned"]
