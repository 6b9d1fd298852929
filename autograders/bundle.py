"""The student bundle: one zip with everything a student needs and nothing they must not see.

``python -m autograders bundle`` (``make bundle``) writes ``dist/nn-course-student.zip``
holding one folder, ``nn-course-student/``, with

- ``release/``: the exercise notebooks as nbgrader generated them (no solutions, no hidden
  tests; ``mutants.py`` and ``source/`` are never copied);
- ``notebooks/``: the lessons, with their outputs;
- ``translated/<language>/release/`` and ``translated/<language>/notebooks/``: the same in
  every other language of the course (``autograders.i18n``);
- ``nncourse/``: the library the notebooks import;
- ``pyproject.toml``: a student-side project that installs ``nncourse`` and what the
  notebooks need (the course's dependencies less the instructor's test tools), so that
  ``pip install .`` works in the unpacked folder;
- ``environment.yml``: the same for conda users (it installs that pyproject with pip);
- ``jupyter/``: JupyterLab's settings for a student, which the install puts in place (no
  news pop-up; nbgrader's instructor tools off, Validate and the Assignment List kept);
- ``nbgrader_config.py``: the course's per-cell time limit, so that the Validate button
  runs the notebook the way the grader will;
- ``README.md``: the student guide (``docs/student.md``), and ``README.zh_CN.md`` in
  Chinese (``docs/student.zh_CN.md``).

The zip is reproducible: the same course gives the same bytes. Before it is written, the
release notebooks are checked once more for solution and hidden-test markers and outputs.
"""
import json
import re
import zipfile
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:      # Python 3.10: pytest, a course dependency, brings tomli
    import tomli as tomllib

from traitlets.config.loader import PyFileConfigLoader

from autograders import NOTEBOOKS, PROOF_FILES, RELEASE, ROOT
from autograders.i18n import LANGUAGES, TRANSLATED

NAME = "nn-course-student"
DEFAULT_OUT = ROOT / "dist" / f"{NAME}.zip"
STUDENT_GUIDE = ROOT / "docs" / "student.md"
# Tools for instructors and CI only: a student's install does not need them.
INSTRUCTOR_ONLY = {"pytest", "pytest-xdist", "nbval", "playwright", "psutil"}
# Where `pip install .` puts the bundle's Jupyter settings: {prefix folder: [bundle files]}.
STUDENT_DATA_FILES = {
    "share/jupyter/lab/settings/overrides.d": ["jupyter/overrides.d/nn-course.json"],
    "etc/jupyter/labconfig/page_config.d":
        ["jupyter/student/labconfig/page_config.d/nn-course-student.json"],
    "etc/jupyter/jupyter_server_config.d":
        ["jupyter/student/jupyter_server_config.d/nn-course-student.json"],
}
SKIP_PARTS = {".ipynb_checkpoints", "__pycache__", ".pytest_cache"}
NEVER_SHIPPED = {*PROOF_FILES, "gradebook.db", "nbgrader_config.py"}
SECRET_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
# Fixed timestamp and mode: the same files make the same zip.
ZIP_DATE = (2024, 1, 1, 0, 0, 0)


def _requirement_name(spec):
    return re.match(r"[A-Za-z0-9._-]+", spec).group(0).lower().replace("_", "-")


def student_dependencies(pyproject=ROOT / "pyproject.toml"):
    """The course's dependencies without the instructor's test tools."""
    project = tomllib.loads(Path(pyproject).read_text())["project"]
    return [d for d in project["dependencies"] if _requirement_name(d) not in INSTRUCTOR_ONLY]


def student_pyproject(pyproject=ROOT / "pyproject.toml"):
    """pyproject.toml of the bundle: installs nncourse and what the notebooks import."""
    project = tomllib.loads(Path(pyproject).read_text())["project"]
    deps = "".join(f"    {json.dumps(d)},\n" for d in student_dependencies(pyproject))
    data_files = "".join(f"{json.dumps(target)} = {json.dumps(sources)}\n"
                         for target, sources in STUDENT_DATA_FILES.items())
    return f"""\
# The student side of nn-course: `pip install .` here installs the nncourse library
# and everything the lessons and exercises need.
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "{NAME}"
version = "{project["version"]}"
description = "Lessons and exercises on torch.nn (student copy)"
readme = "README.md"
requires-python = "{project.get("requires-python", ">=3.10")}"
dependencies = [
{deps}]

[tool.setuptools.packages.find]
include = ["nncourse*"]

[tool.setuptools.package-data]
nncourse = ["*", "locale/*.json"]

# JupyterLab set up for a student (jupyter/README.md): no news pop-up, and nbgrader's
# instructor tools off while Validate and the Assignment List stay.
[tool.setuptools.data-files]
{data_files}"""


def student_environment(environment=ROOT / "environment.yml"):
    """environment.yml of the bundle: a plain install, which places the Jupyter settings."""
    text = Path(environment).read_text()
    # the instructor's environment has the cluster and hub extras; a student needs the
    # course only
    if "      - -e .[cluster,hub]\n" not in text:
        raise ValueError(f"{environment} no longer installs the project with "
                         "`-e .[cluster,hub]`")
    return text.replace("      - -e .[cluster,hub]\n", "      - .\n")


def student_nbgrader_config(config=ROOT / "nbgrader_config.py"):
    """nbgrader settings for the Validate button: the grader's time limits per cell."""
    loaded = PyFileConfigLoader(Path(config).name, path=str(Path(config).parent)).load_config()
    lines = ['"""nbgrader settings for the Validate button (the grader uses the same limits)."""',
             "c = get_config()  # noqa: F821 (nbgrader provides get_config)",
             f"c.CourseDirectory.course_id = {loaded.CourseDirectory.course_id!r}"]
    for section, keys in [("Execute", ("timeout", "startup_timeout", "interrupt_on_timeout")),
                          ("IgnorePattern", ("enabled", "pattern"))]:
        for key in keys:
            if key in loaded[section]:
                lines.append(f"c.{section}.{key} = {loaded[section][key]!r}")
    return "\n".join(lines) + "\n"


def _tree(folder):
    """Files under ``folder`` that may ship, as (path on disk, path relative to ROOT)."""
    for path in sorted(Path(folder).rglob("*")):
        rel = path.relative_to(ROOT)
        if (path.is_file() and not SKIP_PARTS.intersection(rel.parts)
                and path.name not in NEVER_SHIPPED and path.suffix != ".pyc"):
            yield path, rel.as_posix()


def check_release_notebook(path):
    """Raise if a student notebook holds a solution or hidden-test marker, or outputs."""
    text = Path(path).read_text()
    for marker in SECRET_MARKERS:
        if marker in text:
            raise ValueError(f"{path} contains '{marker}': run `make release`")
    for cell in json.loads(text)["cells"]:
        if cell.get("outputs"):
            raise ValueError(f"{path} holds outputs: run `make release`")


def contents():
    """The bundle's files: {path inside the bundle folder: bytes}."""
    files = {}
    translated = [TRANSLATED / lang / part for lang in LANGUAGES
                  for part in ("release", "notebooks")]
    releases = [RELEASE] + [f for f in translated if f.name == "release"]
    for folder in (RELEASE, NOTEBOOKS, *translated, ROOT / "nncourse"):
        for path, rel in _tree(folder):
            if folder in releases and path.suffix == ".ipynb":
                check_release_notebook(path)
            files[rel] = path.read_bytes()
    if not any(rel.startswith("release/") for rel in files):
        raise ValueError("release/ is empty: run `make release` first")
    for sources in STUDENT_DATA_FILES.values():
        for rel in sources:
            files[rel] = (ROOT / rel).read_bytes()
    files["environment.yml"] = student_environment().encode()
    files["pyproject.toml"] = student_pyproject().encode()
    files["nbgrader_config.py"] = student_nbgrader_config().encode()
    files["README.md"] = STUDENT_GUIDE.read_bytes()
    for lang in LANGUAGES:
        guide = STUDENT_GUIDE.with_name(f"student.{lang}.md")
        if guide.exists():
            files[f"README.{lang}.md"] = guide.read_bytes()
    return files


def bundle(out=DEFAULT_OUT):
    """Write the student zip to ``out`` and return its path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    files = contents()
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for rel in sorted(files):
            info = zipfile.ZipInfo(f"{NAME}/{rel}", date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, files[rel])
    tmp.replace(out)
    return out


def main(out=None):
    path = bundle(out or DEFAULT_OUT)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    notebooks = sum(n.endswith(".ipynb") for n in names)
    print(f"wrote {path} ({len(names)} files, {notebooks} notebooks, "
          f"{path.stat().st_size / 1e6:.1f} MB)")
    return 0
