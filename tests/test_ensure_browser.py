"""`make test` sets up the browser itself: scripts/ensure-browser on a machine without it.

The real apt-get is replaced by a stub on PATH that records its arguments and "installs"
Chromium at the path named by NNCOURSE_CHROMIUM; `id` and `sudo` are stubbed to play root,
a user with sudo, and a user without it.
"""
import os
import subprocess
from pathlib import Path

from autograders import ROOT

SCRIPT = ROOT / "scripts" / "ensure-browser"


def _stub(folder, name, body):
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


def _run(tmp_path, uid, sudo=None, args=()):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    chromium = tmp_path / "chromium"
    log = tmp_path / "apt.log"
    _stub(bin_dir, "apt-get", f'echo "$@" >> {log}\n'
          f'case "$1" in install) printf "#!/bin/sh\\necho Chromium 1\\n" > {chromium};'
          f' chmod +x {chromium};; esac')
    _stub(bin_dir, "id", f"echo {uid}")
    if sudo == "works":
        _stub(bin_dir, "sudo", f'[ "$1" = -n ] && shift; echo sudo >> {log}; "$@"')
    elif sudo == "asks":
        _stub(bin_dir, "sudo", "exit 1")
    # only the stubs and the shell's own tools: no sudo unless stubbed, no real apt-get
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "NNCOURSE_CHROMIUM": str(chromium),
           "HOME": str(tmp_path)}
    if sudo is None:
        (bin_dir / "sudo").unlink(missing_ok=True)
        env["PATH"] = f"{bin_dir}:{_no_sudo_path(tmp_path)}"
    result = subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True,
                            text=True, timeout=60)
    return result, (log.read_text() if log.exists() else ""), chromium


def _no_sudo_path(tmp_path):
    """A folder with links to the tools the script uses, and no sudo."""
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    for name in ("bash", "sh", "cat", "chmod", "printf", "python3", "env"):
        for folder in ("/usr/bin", "/bin", "/usr/local/bin"):
            src = Path(folder) / name
            if src.exists() and not (tools / name).exists():
                (tools / name).symlink_to(src)
    return tools


def test_root_installs_chromium_with_apt_get(tmp_path):
    result, log, chromium = _run(tmp_path, uid=0)
    assert result.returncode == 0, result.stderr
    assert "update" in log and "install -y --no-install-recommends chromium" in log
    assert "sudo" not in log
    assert os.access(chromium, os.X_OK)
    assert "Chromium 1" in result.stdout


def test_user_with_sudo_installs_through_sudo(tmp_path):
    result, log, chromium = _run(tmp_path, uid=1000, sudo="works")
    assert result.returncode == 0, result.stderr
    assert "sudo" in log and "install -y --no-install-recommends chromium" in log
    assert os.access(chromium, os.X_OK)


def test_user_without_sudo_stops_at_once_with_the_command(tmp_path):
    for sudo in ("asks", None):
        result, log, chromium = _run(tmp_path, uid=1000, sudo=sudo)
        assert result.returncode == 1
        assert "sudo apt-get update && sudo apt-get install -y --no-install-recommends " \
               "chromium" in result.stderr
        assert "install" not in log and not chromium.exists()


def test_present_browser_installs_nothing(tmp_path):
    _run(tmp_path, uid=0)                     # installs the stub Chromium
    (tmp_path / "apt.log").unlink()
    result, log, _ = _run(tmp_path, uid=1000, sudo="asks")
    assert result.returncode == 0 and log == ""


def test_make_test_asks_for_the_browser_before_anything_else():
    makefile = (ROOT / "Makefile").read_text()
    prerequisites = next(line for line in makefile.splitlines() if line.startswith("test:"))
    assert prerequisites.split()[1] == "browser"
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "apt-get" not in (ROOT / ".ci" / "run").read_text()
