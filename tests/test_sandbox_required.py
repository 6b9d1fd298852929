"""Where no sandbox can be made, `grade` stops at once and says why; --no-sandbox says so.

A user namespace of the test's own, with its limit of nested user namespaces set to 0, is
a machine that cannot make the sandbox (as a Docker container under the default seccomp
profile is); nothing outside the test changes.
"""
import json
import subprocess
import sys

from autograders import ROOT


def _grade_without_namespaces(tmp_path, *args):
    script = ("echo 0 > /proc/sys/user/max_user_namespaces && exec \"$@\"")
    cmd = ["unshare", "--user", "--map-root-user", "sh", "-c", script, "sh",
           sys.executable, "-m", "autograders", "grade", "--assignment", "ch01_module",
           "--workers", "2", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_grade_stops_at_once_without_a_sandbox(tmp_path):
    out = tmp_path / "out"
    proc = _grade_without_namespaces(tmp_path, "--out", str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "no sandbox can be made" in proc.stderr and "--no-sandbox" in proc.stderr
    assert not out.exists(), "nothing is written when the sandbox is missing"


def test_no_sandbox_grades_and_says_so(tmp_path):
    out = tmp_path / "out"
    proc = _grade_without_namespaces(tmp_path, "--out", str(out), "--no-sandbox")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "NO SANDBOX" in proc.stdout
    assert "Graded without a sandbox" in (out / "report.html").read_text()
    assert json.loads((out / "grading.json").read_text())["last_run"]["sandbox"] is False
    rows = (out / "grades.csv").read_text().splitlines()
    assert any(line.startswith("reference,ch01_module,12,12,ok") for line in rows), rows
