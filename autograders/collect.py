"""What is there to grade: submissions from a folder, an LMS zip or the sample class.

Every input becomes a list of ``Entry`` rows, one per student and assignment; nothing
that was handed in is dropped without a row saying why.

- A folder in nbgrader's layout: ``submitted/<student_id>/<assignment>/<notebook>.ipynb``
  (the folder given may be the course root, its ``submitted/`` folder, or a folder of
  student folders). Notebooks directly inside a student folder belong to ``--assignment``
  or to the assignment whose notebooks they match.
- A zip (or a folder of loose files) downloaded from an LMS, in nbgrader's
  ``zip_collect`` conventions: each file name (or path) is matched by a regular expression
  with the groups ``student_id`` and ``file_id`` (optional ``timestamp``, ``first_name``,
  ``last_name``, ``email``). The course's ``FileNameCollectorPlugin.named_regexp`` is used
  when set, else the patterns of Canvas, Moodle and Blackboard below. Zips inside the zip
  are opened too. A zip that holds nbgrader's layout is read as a folder.
- Nothing: the bundled sample class, the reference, blank and mutant submissions of
  every assignment (``autograders.sample``) as pseudo-students.
"""
import copy
import functools
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograders import RELEASE, ROOT, SOURCE, assignments

LMS_PATTERNS = [
    # Canvas: doejane_12345_67890_ch01_module.ipynb, doejane_LATE_12345_67890_...
    r"^(?P<student_id>[A-Za-z0-9.\-]+)_(?:LATE_)?\d+_\d+_(?P<file_id>.+)$",
    # Moodle: Jane Doe_12345_assignsubmission_file_ch01_module.ipynb (also as a folder)
    r"^(?P<first_name>[^_/]+?)(?: (?P<last_name>[^_/]+))?_(?P<student_id>\d+)_"
    r"assignsubmission_file_/?(?P<file_id>.+)$",
    # Blackboard: ch01_module_jdoe_attempt_2024-01-30-15-00-00_ch01_module.ipynb
    r"^.*?_(?P<student_id>[^_/]+)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>.+)$",
    # one folder per student: jdoe/ch01_module.ipynb
    r"^(?P<student_id>[^/]+)/(?P<file_id>[^/]+)$",
]
MAX_UNZIPPED = 4 << 30   # bytes: a zip bomb must not fill the disk
MAX_MEMBERS = 100000
MAX_DEPTH = 3             # archives inside archives inside the LMS zip, and no deeper
SAFE_ID = re.compile(r"[^\w.@+\-]")


@dataclass
class Entry:
    """One row of grades.csv: a student and an assignment, and how it went."""
    student: str
    assignment: str
    folder: Path = None      # the student's files for this assignment, as handed in
    status: str = ""         # decided before grading for rows that cannot be graded
    flags: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    timestamp: str = None

    @property
    def key(self):
        return (self.student, self.assignment)


def safe_id(text):
    """A student or assignment id that nbgrader's glob patterns can hold."""
    cleaned = SAFE_ID.sub("_", text.strip()).strip("._") or "unnamed"
    return cleaned[:100]


class StudentIds:
    """Safe ids for student names, distinct even when two names clean up alike.

    "a lice" and "a_lice" both clean up to ``a_lice``; the second becomes ``a_lice-2``, and
    both are remembered so that their rows can be flagged ``id-clash``.
    """

    def __init__(self):
        self.names = {}       # safe id -> the name it was made from
        self.clashes = {}     # safe id -> note for its rows

    def __call__(self, name):
        base = safe_id(name)
        if self.names.get(base, name) == name:
            self.names[base] = name
            return base
        number = 2
        while self.names.get(f"{base}-{number}", name) != name:
            number += 1
        new = f"{base}-{number}"
        self.names[new] = name
        note = (f"the names {self.names[base]!r} and {name!r} give the same id {base!r}: "
                f"{name!r} is graded as {new!r}")
        self.clashes[base] = self.clashes[new] = note
        return new

    def flag(self, entries):
        for entry in entries:
            if entry.student in self.clashes and "id-clash" not in entry.flags:
                entry.flags.append("id-clash")
                entry.notes.append(self.clashes[entry.student])
        return entries


def release_notebooks(assignment_id):
    """``{file name: release notebook}`` of an assignment (copies: the caller may change
    them)."""
    return {p.name: copy.deepcopy(_read_release(p, p.stat().st_mtime_ns))
            for p in sorted((RELEASE / assignment_id).glob("*.ipynb"))}


@functools.lru_cache(maxsize=64)
def _read_release(path, mtime):
    """A release notebook read once per run, not once per submission (it is checked
    against the schema as it is read: 10 ms)."""
    return nbformat.read(path, as_version=4)


def released_assignments():
    """The assignments that have a release copy, in the course's order."""
    return [a for a in assignments() if (RELEASE / a).is_dir()]


def _guess_assignment(files, known):
    """The assignment whose notebook names (or nbgrader ids) the files match best."""
    from autograders.repair import grade_ids, read_notebook
    names = {f.name for f in files}
    for aid in known:
        if names & {p.name for p in (RELEASE / aid).glob("*.ipynb")}:
            return aid
    ids = set()
    for f in files:
        if f.suffix == ".ipynb" or ".ipynb" in f.name:
            try:
                ids |= grade_ids(read_notebook(f.read_bytes())[0])
            except Exception:
                pass
    best, overlap = None, 0
    for aid in known:
        wanted = set()
        for nb in release_notebooks(aid).values():
            wanted |= grade_ids(nb)
        if len(ids & wanted) > overlap:
            best, overlap = aid, len(ids & wanted)
    return best


# ----------------------------------------------------------------------------------------
# Zips


class ArchiveTooBig(ValueError):
    """The archive, nested ones included, unpacks to more than ``MAX_UNZIPPED`` bytes."""


def unzip(archive, dest, budget=None, depth=0):
    """Extract ``archive`` into ``dest`` safely: no paths outside it, one size budget for
    the archive and every archive nested in it, at most ``MAX_DEPTH`` levels of nesting.

    A member that cannot be written (an odd name, a file where a folder is) is skipped; a
    nested archive that cannot be read stays as it is, so its student still gets a row.
    """
    dest = Path(dest)
    budget = budget if budget is not None else [MAX_UNZIPPED]
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise ValueError(f"{archive}: more than {MAX_MEMBERS} files")
        for info in members:
            name = info.filename.replace("\\", "/")
            parts = [p for p in name.split("/") if p not in ("", ".", "..")]
            if not parts or info.is_dir() or parts[0] == "__MACOSX":
                continue
            if info.file_size > budget[0]:
                raise ArchiveTooBig(f"{archive}: more than {MAX_UNZIPPED >> 30} GiB "
                                    "unpacked")
            try:
                target = dest.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    budget[0] -= _copy_at_most(src, out, budget[0], archive)
            except ArchiveTooBig:
                raise
            except (OSError, ValueError, UnicodeError, NotImplementedError,
                    RuntimeError, zipfile.BadZipFile):
                continue
    if depth >= MAX_DEPTH:
        return dest
    # zips inside the zip (one per student, as some LMS download them)
    for inner in sorted(dest.rglob("*.zip")):
        folder = inner.with_suffix("")
        try:
            unzip(inner, folder, budget, depth + 1)
            inner.unlink()
        except ArchiveTooBig:
            raise
        except Exception:  # stays a zip: its student's row says what was handed in
            pass
    return dest


def _copy_at_most(src, out, limit, archive):
    """Copy and count: a member's declared size may lie."""
    copied = 0
    while True:
        chunk = src.read(1 << 20)
        if not chunk:
            return copied
        copied += len(chunk)
        if copied > limit:
            raise ArchiveTooBig(f"{archive}: more than {MAX_UNZIPPED >> 30} GiB unpacked")
        out.write(chunk)


# ----------------------------------------------------------------------------------------
# Layouts


def _is_nbgrader_layout(folder, known):
    """Does ``folder`` hold ``<student>/<assignment>/`` folders?"""
    for student in folder.iterdir():
        if student.is_dir():
            for sub in student.iterdir():
                if sub.is_dir() and sub.name in known:
                    return True
    return False


def _submitted_root(folder, known):
    folder = Path(folder)
    if (folder / "submitted").is_dir():
        return folder / "submitted"
    subdirs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if len(subdirs) == 1 and not _is_nbgrader_layout(folder, known) and \
            _is_nbgrader_layout(subdirs[0], known):
        return subdirs[0]  # a zip that wraps everything in one folder
    return folder


def from_folder(folder, assignment=None, known=None, grid=True):
    """Entries of a folder in nbgrader's layout (student folders at the top).

    With ``grid``, every student gets a row for every assignment graded (``missing``
    where nothing was handed in), as in nbgrader's own export.
    """
    known = known if known is not None else released_assignments()
    root = _submitted_root(folder, known)
    found = {}      # (student, assignment) -> Entry
    students = []
    ids = StudentIds()
    dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if dirs and all(p.name in known for p in dirs):
        dirs = [root]  # the folder of one student was given
    for student_dir in dirs:
        student = ids(student_dir.name)
        students.append(student)
        subs = [p for p in student_dir.iterdir() if p.is_dir()
                and not p.name.startswith(".")]
        loose = [p for p in student_dir.iterdir() if p.is_file()
                 and not p.name.startswith(".")]
        for sub in sorted(subs):
            aid = sub.name
            if aid not in known:
                files = [p for p in sub.rglob("*") if p.is_file()]
                guess = assignment if assignment else _guess_assignment(files, known)
                entry = Entry(student, guess or aid, sub)
                if guess:
                    entry.flags.append("renamed")
                    entry.notes.append(f"folder '{aid}' graded as {guess}")
                else:
                    entry.status = "unknown"
                    entry.notes.append(f"'{aid}' is no assignment of this course")
            else:
                entry = Entry(student, aid, sub)
            if assignment and entry.assignment != assignment:
                continue
            if entry.key in found:  # two folders for one assignment: keep the first
                found[entry.key].notes.append(f"another folder '{sub.name}' ignored")
                continue
            found[entry.key] = entry
        if loose and not any(k[0] == student and found[k].folder for k in found):
            aid = assignment or _guess_assignment(loose, known)
            if aid and (student, aid) not in found:
                entry = Entry(student, aid, student_dir)
                entry.notes.append("files outside an assignment folder")
                found[entry.key] = entry
    if not grid:
        return ids.flag(sorted(found.values(), key=lambda e: (e.assignment, e.student)))
    return ids.flag(_fill_grid(found, students, assignment))


def _fill_grid(found, students, assignment):
    """Every student gets a row for every assignment graded (``missing`` when absent)."""
    graded = [assignment] if assignment else sorted(
        {e.assignment for e in found.values() if e.status != "unknown"},
        key=lambda a: (a not in assignments(), a))
    for student in students:
        for aid in graded:
            if (student, aid) not in found:
                entry = Entry(student, aid, None, status="missing")
                entry.notes.append("nothing handed in")
                found[(student, aid)] = entry
        if not any(k[0] == student for k in found):
            found[(student, "")] = Entry(student, "", None, status="missing",
                                         notes=["an empty folder, and no assignment "
                                                "was given with --assignment"])
    return sorted(found.values(), key=lambda e: (e.assignment, e.student))


def _patterns():
    """The course's zip_collect regular expression when set, else the LMS defaults."""
    try:
        from traitlets.config.loader import PyFileConfigLoader
        cfg = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
        custom = cfg.FileNameCollectorPlugin.get("named_regexp")
    except Exception:
        custom = None
    return [re.compile(p) for p in ([custom] if custom else []) + LMS_PATTERNS]


def from_loose_files(folder, staging, assignment=None, known=None):
    """Entries of LMS files (``zip_collect`` naming), rebuilt in nbgrader's layout."""
    known = known if known is not None else released_assignments()
    folder, staging = Path(folder), Path(staging)
    patterns = _patterns()
    found, unmatched = {}, []
    ids = StudentIds()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        match = None
        for pattern in patterns:
            match = pattern.match(rel) or pattern.match(path.name)
            if match and match.groupdict().get("student_id") and \
                    match.groupdict().get("file_id"):
                break
            match = None
        if not match:
            unmatched.append(path)
            continue
        groups = match.groupdict()
        student = ids(groups["student_id"])
        file_id = Path(groups["file_id"]).name
        dest = staging / student / "_files" / file_id
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
        if groups.get("timestamp"):
            (dest.parent / "timestamp.txt").write_text(groups["timestamp"])
        found.setdefault(student, []).append(dest)
    entries = {}
    for student, files in found.items():
        aid = assignment or _guess_assignment(files, known)
        src = staging / student / "_files"
        if not aid:
            entry = Entry(student, "", src, status="unknown",
                          notes=["no assignment matches these files"])
        else:
            target = staging / student / aid
            src.rename(target)
            entry = Entry(student, aid, target)
        entries[entry.key] = entry
    for path in unmatched:
        student = safe_id(path.stem)
        entry = Entry(student, assignment or "", None, status="unknown")
        entry.notes.append(f"'{path.name}': the student cannot be told from the file name")
        entries.setdefault(entry.key, entry)
    return ids.flag(_fill_grid(entries, sorted({k[0] for k in entries}), assignment))


def sample_class(staging, assignment=None):
    """The bundled sample class: reference, blank and mutants of every assignment."""
    from autograders.sample import submissions

    ids = [assignment] if assignment else released_assignments()
    staging = Path(staging)
    for aid in list(ids):
        try:
            subs = submissions(aid)
        except Exception as exc:  # a chapter being written: leave it out of the demo
            print(f"sample class: {aid} left out ({type(exc).__name__}: {exc})")
            ids.remove(aid)
            continue
        for student, notebooks in subs.items():
            notebooks.pop("__plan__", None)
            folder = staging / student / aid
            folder.mkdir(parents=True, exist_ok=True)
            for name, nb in notebooks.items():
                nbformat.write(nb, folder / name)
    # pseudo-students: mutant-4 of one chapter is not missing the others
    return from_folder(staging, assignment, known=ids, grid=False)


def collect(submissions, staging, assignment=None):
    """All entries of the input (see the module's docstring)."""
    known = released_assignments()
    if assignment and assignment not in known:
        raise ValueError(f"no assignment '{assignment}' in {SOURCE} (with a release)")
    staging = Path(staging)
    if submissions is None:
        return sample_class(staging / "sample", assignment)
    path = Path(submissions)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise ValueError(f"{path}: expected a folder or a zip file")
        path = unzip(path, staging / "unzipped")
    root = _submitted_root(path, known)
    has_dirs = any(p.is_dir() for p in root.iterdir())
    if _is_nbgrader_layout(root, known) or (has_dirs and not _loose_lms(root)):
        return from_folder(root, assignment, known)
    return from_loose_files(root, staging / "lms", assignment, known)


def _loose_lms(folder):
    """Do the files of ``folder`` look like an LMS download (names carry student ids)?"""
    patterns = [re.compile(p) for p in LMS_PATTERNS[:3]]
    files = [p for p in folder.rglob("*") if p.is_file()]
    hits = sum(1 for p in files if any(pat.match(p.name) or
                                       pat.match(p.relative_to(folder).as_posix())
                                       for pat in patterns))
    return bool(files) and hits >= max(1, len(files) // 2)
