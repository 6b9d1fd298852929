"""`make lab` serves JupyterLab on the course, with nbgrader's extensions enabled."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def test_make_lab_serves_jupyterlab_with_nbgrader(tmp_path):
    port, token = _free_port(), "nncourse-test"
    args = (f"--port={port} --no-browser --ServerApp.ip=127.0.0.1 "
            f"--ServerApp.token={token} --ServerApp.runtime_dir={tmp_path}")
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    lab = subprocess.Popen(["make", "-s", "lab", f"LAB_ARGS={args}"], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, status = time.monotonic() + 120, None
        while time.monotonic() < deadline and lab.poll() is None:
            try:
                status, page = _get(f"{base}/lab?token={token}")
                break
            except OSError:
                time.sleep(1)
        assert status == 200, f"JupyterLab did not answer: {lab.stdout.read1(20000)!r}"
        assert b"JupyterLab" in page
        _, body = _get(f"{base}/lab/api/extensions?token={token}")
        nbgrader = [e for e in json.loads(body) if "nbgrader" in e["name"]]
        assert nbgrader and all(e["enabled"] for e in nbgrader), nbgrader
        status, body = _get(f"{base}/api/contents/release?token={token}")
        names = [item["name"] for item in json.loads(body)["content"]]
        assert "ch01_module" in names, "JupyterLab does not serve the course root"
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        lab.wait(timeout=30)
