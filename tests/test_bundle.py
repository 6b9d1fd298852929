"""The student bundle: complete, installable on its own, runnable, and free of secrets."""
import json
import os
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from packaging.requirements import Requirement

from autograders import NOTEBOOKS, PROOF_FILES, RELEASE, ROOT, SOURCE, assignments
from autograders.bundle import NAME, STUDENT_DATA_FILES, bundle, student_dependencies
from autograders.leaks import public_lines
from autograders.sample import reference_answer

SKIP = {".ipynb_checkpoints", "__pycache__"}
# A student's answer to exercise 1 of chapter 1.
ANSWER = reference_answer("ch01_module", "ex1_two_layer")


def _files(folder, pattern="*"):
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): p for p in folder.rglob(pattern)
            if p.is_file() and not SKIP.intersection(p.parts) and p.suffix != ".pyc"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The bundle as `python -m autograders bundle` writes it, and the folder it unpacks to."""
    out = tmp_path_factory.mktemp("bundle")
    zip_path = out / f"{NAME}.zip"
    result = subprocess.run([sys.executable, "-m", "autograders", "bundle", "--out",
                             str(zip_path)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(zip_path) in result.stdout
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        zf.extractall(out / "unzipped")
    return zip_path, names, out / "unzipped" / NAME


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory):
    """The package installed from the unpacked bundle alone, into a folder of its own.

    Offline and fast: no dependency is fetched (this environment already has them; the
    test below checks that they satisfy what the bundle declares).
    """
    _, _, folder = built
    prefix = tmp_path_factory.mktemp("prefix")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--no-index", "--prefix", str(prefix), str(folder)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return student_site(prefix)


def student_site(prefix):
    """site-packages of an install with ``--prefix``."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return Path(prefix) / "lib" / version / "site-packages"


def test_the_install_puts_the_student_jupyter_settings_in_place(installed):
    prefix = installed.parents[2]
    for target, sources in STUDENT_DATA_FILES.items():
        for rel in sources:
            placed = prefix / target / Path(rel).name
            assert placed.read_bytes() == (ROOT / rel).read_bytes(), placed
    pages = json.loads((prefix / "etc/jupyter/labconfig/page_config.d/"
                        "nn-course-student.json").read_text())["disabledExtensions"]
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
            "@jupyter/nbgrader:course-list"} == {k for k, v in pages.items() if v}


def test_one_folder_with_what_a_student_needs(built):
    _, names, folder = built
    assert all(name.startswith(f"{NAME}/") for name in names)
    for top in ("README.md", "environment.yml", "pyproject.toml", "nbgrader_config.py"):
        assert (folder / top).is_file(), top
    # exercises, lessons and the library, byte for byte as in the course
    for ours, theirs in [(RELEASE, folder / "release"), (NOTEBOOKS, folder / "notebooks"),
                         (ROOT / "nncourse", folder / "nncourse")]:
        mine, shipped = _files(ours), _files(theirs)
        assert set(mine) == set(shipped), f"{ours.name}: {set(mine) ^ set(shipped)}"
        for rel, path in mine.items():
            assert shipped[rel].read_bytes() == path.read_bytes(), f"{ours.name}/{rel}"
    for aid in assignments():
        assert list((folder / "release" / aid).glob("*.ipynb")), aid
    assert (folder / "README.md").read_text() == (ROOT / "docs" / "student.md").read_text()
    assert "      - .\n" in (folder / "environment.yml").read_text()


def _blocks(nb, kind):
    """Each SOLUTION or HIDDEN TESTS block of a source notebook, as its stripped lines."""
    blocks, current = [], None
    for cell in nb.cells:
        for line in cell.source.splitlines():
            stripped = line.strip()
            if stripped == f"### BEGIN {kind}":
                current = []
            elif stripped == f"### END {kind}":
                blocks.append([s for s in current if s and not s.startswith("#")])
                current = None
            elif current is not None:
                current.append(stripped)
    return [b for b in blocks if b]


def test_no_solution_no_hidden_test_no_mutant_inside(built):
    _, names, folder = built
    for name in names:
        parts = Path(name).parts[1:]
        assert parts[0] not in {"source", "autograders", "tests", "submitted", "autograded",
                                "feedback", "benchmarks"}, name
        assert Path(name).name not in {*PROOF_FILES, "gradebook.db"}, name
    texts = {rel: path.read_text(errors="replace") for rel, path in _files(folder).items()}
    for rel, text in texts.items():
        for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "# %% [mutant",
                       "# %% [alternative"):
            assert marker not in text, f"{marker} in {rel}"
    flat = {rel: "\n".join(line.strip() for line in text.splitlines())
            for rel, text in texts.items()}
    for src in sorted(SOURCE.glob("*/*.ipynb")):
        nb = nbformat.read(src, as_version=4)
        public = public_lines(nb)
        solutions, hidden = _blocks(nb, "SOLUTION"), _blocks(nb, "HIDDEN TESTS")
        assert solutions and hidden, f"{src}: no solution or no hidden test?"
        # the student copy of this assignment: not one substantial secret line
        secret = {line for block in solutions + hidden for line in block
                  if len(line) > 12 and line not in public}
        shipped = nbformat.read(folder / "release" / src.parent.name / src.name, 4)
        text = "\n".join(line.strip() for c in shipped.cells for line in c.source.splitlines())
        leaked = sorted(line for line in secret if line in text.splitlines())
        assert not leaked, f"{src.parent.name}: {leaked[:5]}"
        # nowhere in the bundle (lessons and library included): a whole solution or hidden
        # test of more than one line
        for block in solutions + hidden:
            if len(block) < 2:
                continue
            joined = "\n".join(block)
            for rel, body in flat.items():
                assert joined not in body, f"a secret block of {src.parent.name} in {rel}"


def test_the_bundle_alone_installs_the_package(built, installed):
    _, _, folder = built
    code = ("import importlib, pkgutil, nncourse\n"
            "print(nncourse.__file__)\n"
            "for m in pkgutil.iter_modules(nncourse.__path__):\n"
            "    importlib.import_module('nncourse.' + m.name)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=installed.parent,
                            env=_env(installed), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert Path(result.stdout.splitlines()[0]).is_relative_to(installed), result.stdout
    # every file of the shipped library was installed
    assert set(_files(folder / "nncourse")) <= set(_files(installed / "nncourse"))
    dist = next(metadata.distributions(path=[str(installed)]))
    assert dist.metadata["Name"] == NAME
    declared = [Requirement(r) for r in dist.requires or []]
    names = {r.name.lower() for r in declared}
    assert {"torch", "torchvision", "jupyterlab", "nbgrader", "scikit-learn"} <= names
    assert not names & {"pytest", "playwright", "nbval"}, "instructor tools in the bundle"
    assert [str(r) for r in declared] == [str(Requirement(d)) for d in student_dependencies()]
    # what the bundle declares is satisfiable: this very environment satisfies it
    for req in declared:
        version = metadata.version(req.name)
        assert req.specifier.contains(version, prereleases=True), f"{req}: {version}"


def _env(site):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(site)
    env["PYTHONWARNINGS"] = "ignore"
    return env


def test_a_release_notebook_runs_its_visible_checks_from_the_bundle(built, installed,
                                                                    monkeypatch):
    _, _, folder = built
    path = folder / "release" / "ch01_module" / "ch01_module.ipynb"
    nb = nbformat.read(path, as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    nb.cells[ids.index("ex1_two_layer")].source = ANSWER
    nb.cells.insert(0, nbformat.v4.new_code_cell("import nncourse\nprint(nncourse.__file__)"))
    # the kernel inherits the environment: it imports the bundle's installed copy
    for key, value in _env(installed).items():
        monkeypatch.setenv(key, value)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()

    def outputs(grade_id):
        cell = nb.cells[[None, *ids].index(grade_id)]
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        errors = [o.ename for o in cell.outputs if o.output_type == "error"]
        return text, errors

    first = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert Path(first.strip()).is_relative_to(installed), first
    setup_text, setup_errors = outputs("setup")
    assert not setup_errors
    ticks, errors = outputs("ex1_two_layer_test")
    assert not errors, errors
    lines = [line for line in ticks.splitlines() if line.strip()]
    assert len(lines) >= 3 and all(line.startswith("\u2713") for line in lines), lines
    graded = [gid for gid, cell in zip(ids, nb.cells[1:])
              if cell.metadata.get("nbgrader", {}).get("grade") and gid != "ex1_two_layer_test"]
    assert graded
    for gid in graded:               # the other exercises are still blank: they fail
        assert outputs(gid)[1], f"{gid} passed with a blank answer"
    assert outputs("ex2_count_test")[1] == ["NotImplementedError"]


def test_the_bundle_is_reproducible(tmp_path):
    first, second = bundle(tmp_path / "a.zip"), bundle(tmp_path / "b.zip")
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        pyproject = zf.read(f"{NAME}/pyproject.toml").decode()
    assert 'include = ["nncourse*"]' in pyproject
    assert json.dumps(student_dependencies()[0]) in pyproject
