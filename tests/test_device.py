"""CPU or GPU: a forced device that is absent stops the run at once, and the outputs that
nbval compares never name a device (they must read the same on a CPU and on a GPU)."""
import json
import os
import re
import subprocess
import sys

import pytest

from autograders import NOTEBOOKS, ROOT
from nncourse.device import _available

LESSONS = sorted(NOTEBOOKS.glob("*.ipynb"))
# A device as torch prints it: cpu, cuda, cuda:0, mps, device(type='cuda', index=0).
# Lower case and standing alone: "torch.cuda.is_available()" and "the CPU backend" are not.
DEVICE_STRING = re.compile(r"(?<![\w.])(cpu|cuda|mps)(:\d+)?(?![\w(])|device\(type=")
UNCHECKED = ("# NBVAL_IGNORE_OUTPUT", "# NBVAL_SKIP")


def _checked_output_texts(nb):
    """(cell index, text) of every output that strict nbval compares."""
    for index, cell in enumerate(nb["cells"]):
        source = "".join(cell.get("source", ""))
        if cell["cell_type"] != "code" or source.lstrip().startswith(UNCHECKED):
            continue
        for out in cell.get("outputs", []):
            if "text" in out:
                yield index, "".join(out["text"])
            for mime, value in out.get("data", {}).items():
                if mime == "text/plain" or mime == "text/latex":
                    yield index, "".join(value)
            if out.get("output_type") == "error":
                yield index, out.get("evalue", "")


def test_device_pattern():
    for text in ["cpu\n", "tensor([1.], device='cuda:0')", "on mps", "device(type='cpu')"]:
        assert DEVICE_STRING.search(text), text
    for text in ["torch.cuda.is_available()", "gloo: the CPU backend", "computer", "cpus",
                 "nncourse.pick_device()"]:
        assert not DEVICE_STRING.search(text), text


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_checked_lesson_outputs_name_no_device(path):
    nb = json.loads(path.read_text())
    found = [(index, match.group(0), text[max(0, match.start() - 40):match.end() + 20])
             for index, text in _checked_output_texts(nb)
             for match in DEVICE_STRING.finditer(text)]
    assert not found, (
        f"{path.name}: outputs that nbval compares print a device name, which lessons never "
        f"do (docs/authoring.md): print what holds on every device (e.g. "
        f"`w.device == X.device`), or mark the cell # NBVAL_IGNORE_OUTPUT and assert "
        f"its result: {found[:5]}")


def _check_device(value):
    env = dict(os.environ, NNCOURSE_DEVICE=value)
    return subprocess.run([sys.executable, "-c",
                           "import sys, nncourse.device as d; sys.exit(d.main())"],
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("kind", ["cuda", "mps"])
def test_a_forced_device_that_is_absent_stops_at_once(kind):
    result = _check_device(kind)
    if _available(kind):                         # on a machine that has it: it is used
        assert result.returncode == 0 and kind in result.stdout, result.stderr
    else:
        assert result.returncode == 1
        assert f"no {kind} device is available" in result.stderr


def test_the_cpu_is_always_there_and_a_typo_is_refused():
    result = _check_device("cpu")
    assert result.returncode == 0 and "notebooks compute on: cpu" in result.stdout
    result = _check_device("gpu")
    assert result.returncode == 1 and "expected cpu, cuda or mps" in result.stderr


def test_make_checks_the_device_before_the_first_test():
    """`make test DEVICE=...` runs the device check first (make -n only prints)."""
    result = subprocess.run(["make", "-n", "test", "DEVICE=cuda"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    check = next(i for i, line in enumerate(lines) if "nncourse.device" in line)
    first_test = next(i for i, line in enumerate(lines) if "pytest" in line)
    assert check < first_test
    makefile = (ROOT / "Makefile").read_text()
    assert "export NNCOURSE_DEVICE := $(DEVICE)" in makefile


def test_deterministic_settings_hold_in_a_fresh_process():
    code = ("import os, torch\n"
            "from nncourse import setup_lesson\n"
            "setup_lesson()\n"
            "assert not torch.backends.cuda.matmul.allow_tf32\n"
            "assert not torch.backends.cudnn.allow_tf32\n"
            "assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark\n"
            "assert torch.are_deterministic_algorithms_enabled()\n"
            "assert os.environ['CUBLAS_WORKSPACE_CONFIG']\n"
            "print(torch.tensor([1 / 3]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tensor([0.3333])"
