"""release/ is what nbgrader makes from source/, and it leaks nothing."""
import json

import nbformat
import pytest

from autograders import PROOF_FILES, RELEASE, SOURCE, assignments
from autograders.leaks import telling_lines
from autograders.release import release

SOURCE_NOTEBOOKS = sorted(SOURCE.glob("*/*.ipynb"))


def test_every_assignment_is_released():
    assert assignments(), "no assignment in source/"
    for aid in assignments():
        for src in (SOURCE / aid).glob("*.ipynb"):
            assert (RELEASE / aid / src.name).exists(), f"{aid}/{src.name} not released"


def test_release_is_in_sync_with_source(tmp_path):
    release(target=tmp_path)
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(RELEASE) for p in RELEASE.rglob("*") if p.is_file())
    assert fresh == committed, "files in release/ differ: run `make release`"
    for rel in fresh:
        assert (tmp_path / rel).read_bytes() == (RELEASE / rel).read_bytes(), (
            f"release/{rel} is out of date: run `make release` and commit it")


@pytest.mark.parametrize("src", SOURCE_NOTEBOOKS, ids=lambda p: p.parent.name)
def test_release_leaks_no_solution_and_no_hidden_test(src):
    source_nb = nbformat.read(src, as_version=4)
    secret = telling_lines(source_nb)
    assert secret, "a source notebook without solutions or hidden tests?"
    released = (RELEASE / src.parent.name / src.name).read_text()
    text = "\n".join(c.source for c in nbformat.reads(released, as_version=4).cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS"):
        assert marker not in released
    leaked = [line for line in secret if line in text]
    assert not leaked, f"solution or hidden-test lines in release: {leaked[:5]}"


def test_no_proof_files_or_outputs_in_release():
    for name in PROOF_FILES:
        assert not list(RELEASE.rglob(name)), name
    for path in RELEASE.rglob("*.ipynb"):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            assert not cell.get("outputs"), f"{path} holds outputs"


@pytest.mark.parametrize("src", SOURCE_NOTEBOOKS, ids=lambda p: p.parent.name)
def test_sources_have_no_outputs(src):
    nb = nbformat.read(src, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
