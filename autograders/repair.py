"""Repair a student's notebook before nbgrader sees it, and say what was repaired.

Students hand in notebooks that stock ``nbgrader autograde`` rejects or grades wrongly:
files that are not valid JSON, nbformat 3, cells whose nbgrader metadata was stripped by
another tool, copied cells with duplicated ids, deleted or retyped cells, a notebook
saved under another name. ``repair_notebook`` turns any of these into a notebook in the
shape of the release copy:

- the file is parsed leniently (byte-order mark, control characters, trailing commas,
  garbage after the notebook) and converted to nbformat 4;
- the student's cells are aligned with the release cells (by nbgrader id, by cell id,
  by content; the order of cells is kept), and every release cell with nbgrader metadata
  gets exactly one student cell, with the release metadata and cell type;
- a release cell that has no student cell (deleted) is put back where it belongs;
- extra copies of a graded cell lose their nbgrader metadata (they run, ungraded);
- cell ids are made unique.

Locked cells that a student edited are restored from source by nbgrader's
``OverwriteCells`` when grading; here they are only detected, for the flags column.
``match_notebooks`` pairs the notebooks found in a student's folder with the notebooks of
the assignment (a renamed notebook is recognised by its content).
"""
import copy
import difflib
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

# Flags a repair can raise (the status becomes "repaired" when any is present).
REPAIR_FLAGS = ("invalid-json", "nbformat3", "metadata-restored", "duplicate-ids",
                "cells-reinserted", "cell-type-restored", "locked-edited", "renamed",
                "unknown-cells", "latin-1", "invalid-unicode", "cell-too-long")
# A cell longer than this is dropped before anything parses it (a 100,000-deep expression
# or a megabyte of code is no answer, and must not cost a worker its memory).
MAX_CELL_CHARS = 1 << 20
_BOMS = (b"\xff\xfe", b"\xfe\xff")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_ALIGNED_CELLS = 3000  # beyond this many cells only ids are used to align


class Unreadable(Exception):
    """The file cannot be turned into a notebook."""


@dataclass
class Repaired:
    nb: object
    flags: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def flag(self, name, note=None):
        if name not in self.flags:
            self.flags.append(name)
        if note:
            self.notes.append(note)


# ----------------------------------------------------------------------------------------
# Reading


_TRAILING_COMMA = re.compile(r",(\s*[\]}])")


def decode(raw):
    """Notebook bytes as text: UTF-8, UTF-16 only with its byte-order mark, otherwise
    latin-1 (flagged); the same rule whatever the length. Returns ``(text, flags)``."""
    if not isinstance(raw, bytes):
        return raw, set()
    if raw.startswith(_BOMS):
        try:
            return raw.decode("utf-16"), set()
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8-sig"), set()
    except UnicodeDecodeError:
        return raw.decode("latin-1"), {"latin-1"}


def _without_lone_surrogates(data, flags):
    """JSON may escape half a surrogate pair ("\\ud800"), which no file can hold."""
    if isinstance(data, str):
        if _LONE_SURROGATE.search(data):
            flags.add("invalid-unicode")
            return data.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return data
    if isinstance(data, list):
        return [_without_lone_surrogates(v, flags) for v in data]
    if isinstance(data, dict):
        return {_without_lone_surrogates(k, flags): _without_lone_surrogates(v, flags)
                for k, v in data.items()}
    return data


def parse_json(raw):
    """Parse notebook JSON leniently; return ``(data, flags)``; raise ``Unreadable``."""
    text, flags = decode(raw)
    data, repaired = _parse_text(text.lstrip("\ufeff"))
    if repaired:
        flags.add("invalid-json")
    return _without_lone_surrogates(data, flags), flags


def _parse_text(text):
    try:
        return json.loads(text), False
    except ValueError:
        pass
    attempts = [lambda t: json.loads(t, strict=False),
                lambda t: json.JSONDecoder(strict=False).raw_decode(t.lstrip())[0],
                lambda t: json.loads(_TRAILING_COMMA.sub(r"\1", t), strict=False)]
    for attempt in attempts:
        try:
            data = attempt(text)
        except ValueError:
            continue
        if isinstance(data, dict) and ("cells" in data or "worksheets" in data):
            return data, True
    raise Unreadable("not valid JSON")


def read_notebook(raw):
    """Bytes or text of a notebook file -> ``(nbformat 4 notebook, flags)``."""
    data, flags = parse_json(raw)
    if not isinstance(data, dict):
        raise Unreadable("JSON, but not a notebook")
    major = data.get("nbformat")
    if "worksheets" in data or (isinstance(major, int) and major < 4):
        flags.add("nbformat3")
        data.setdefault("nbformat", 3)
        data.setdefault("nbformat_minor", 0)
        data.setdefault("metadata", {})
        try:
            nb = nbformat.convert(nbformat.from_dict(data), 4)
        except Exception as exc:
            raise Unreadable(f"an old notebook that cannot be converted: {exc}") from None
    elif isinstance(data.get("cells"), list):
        data["nbformat"] = 4
        nb = nbformat.from_dict(data)
    else:
        raise Unreadable("JSON, but not a notebook (no cells)")
    return _normalise(nb, flags), sorted(flags)


def _text(source):
    if isinstance(source, list):
        return "".join(str(s) for s in source)
    return "" if source is None else str(source)


def _cell(kind, source, metadata):
    """What ``nbformat.v4.new_{kind}_cell`` makes, without checking it against the
    schema cell by cell (the whole notebook is checked when it is written)."""
    cell = {"cell_type": kind, "metadata": metadata, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return nbformat.from_dict(cell)


def _normalise(nb, flags):
    """A structurally valid nbformat 4.5 notebook built from whatever the cells hold."""
    cells, seen = [], set()
    for cell in nb.get("cells") or []:
        if not isinstance(cell, dict):
            continue
        kind = cell.get("cell_type")
        meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        source = _text(cell.get("source", cell.get("input")))
        if len(source) > MAX_CELL_CHARS:
            flags.add("cell-too-long")
            source = (f"# [the grader dropped this cell: {len(source):,} characters, over "
                      f"the limit of {MAX_CELL_CHARS:,}]")
        if kind == "markdown" or kind == "heading":
            new = _cell("markdown", source, meta)
            if cell.get("attachments"):
                new.attachments = cell["attachments"]
        elif kind == "raw":
            new = _cell("raw", source, meta)
        else:
            new = _cell("code", source, meta)
        cid = cell.get("id")
        valid = isinstance(cid, str) and re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", cid)
        if valid and cid in seen:
            flags.add("duplicate-ids")
        new["id"] = cid if valid and cid not in seen else uuid.uuid4().hex[:8]
        seen.add(new["id"])
        cells.append(new)
    meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    out = nbformat.v4.new_notebook(cells=cells, metadata=meta)
    out.nbformat_minor = max(5, int(nb.get("nbformat_minor") or 0)
                             if str(nb.get("nbformat_minor", "")).isdigit() else 5)
    return out


# ----------------------------------------------------------------------------------------
# Aligning with the release copy


def _meta(cell):
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _squash(text):
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _similarity(a, b):
    """How alike two cell texts are, line by line (0 to 1)."""
    a, b = _squash(a).splitlines(), _squash(b).splitlines()
    if a == b:
        return 1.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < 0.2:
        return 0.0
    return matcher.ratio()


def _first_line(text):
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()
    return ""


def _score(rel, stu, big):
    """How well student cell ``stu`` fits release cell ``rel`` (0: not at all)."""
    rmeta, smeta = _meta(rel), _meta(stu)
    rid, sid = rmeta.get("grade_id"), smeta.get("grade_id")
    if rid and sid:
        return 10.0 if rid == sid else 0.0
    if rel.get("id") and rel.get("id") == stu.get("id"):
        return 6.0
    if sid and not rid:
        return 0.0
    if big:
        return 0.0
    ratio = _similarity(rel.source, stu.source)
    if rmeta.get("solution") and not rmeta.get("grade"):
        # an answer cell: the student kept the scaffold (its first line: class or def)
        # and replaced the stub
        first = [_first_line(rel.source), _first_line(stu.source)]
        if first[0] and first[0] == first[1]:
            ratio = max(ratio, 0.6)
        same_type = 0.5 if rel.cell_type == stu.cell_type == "code" else 0.0
        return 2.0 * ratio + same_type if ratio > 0.2 else 0.0
    return 5.0 * ratio if ratio > 0.5 else 0.0


def align(release_cells, student_cells):
    """Order-keeping alignment: ``{release index: student index}`` with the best total fit.

    Only release cells with nbgrader metadata take part (the others need no place).
    """
    wanted = [i for i, c in enumerate(release_cells) if _meta(c).get("grade_id")]
    # the usual case: every graded cell is there once, with its id, in order
    positions = {}
    for j, cell in enumerate(student_cells):
        positions.setdefault(_meta(cell).get("grade_id"), []).append(j)
    direct = [positions.get(_meta(release_cells[i])["grade_id"], []) for i in wanted]
    if all(len(p) == 1 for p in direct) and \
            [p[0] for p in direct] == sorted(p[0] for p in direct):
        return {i: p[0] for i, p in zip(wanted, direct)}
    rel = [release_cells[i] for i in wanted]
    n, m = len(rel), len(student_cells)
    big = n * m > MAX_ALIGNED_CELLS * 40
    score = [[_score(r, c, big) for c in student_cells] for r in rel]
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = best[i], best[i + 1]
        for j in range(m - 1, -1, -1):
            take = score[i][j] + below[j + 1] if score[i][j] > 0 else -1.0
            row[j] = max(take, below[j], row[j + 1])
    pairs, i, j = {}, 0, 0
    while i < n and j < m:
        if score[i][j] > 0 and best[i][j] == score[i][j] + best[i + 1][j + 1]:
            pairs[wanted[i]] = j
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def _retype(cell, kind):
    if kind == "code":
        new = nbformat.v4.new_code_cell(cell.source, metadata=cell.metadata)
    elif kind == "markdown":
        new = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
    else:
        new = nbformat.v4.new_raw_cell(cell.source, metadata=cell.metadata)
    new["id"] = cell.get("id", "")
    return new


def _visible_part(text):
    """A test cell's text as students see it (nbgrader cuts the hidden tests out)."""
    return re.sub(r"### BEGIN HIDDEN TESTS[\s\S]*?### END HIDDEN TESTS\n?", "", text)


def repair_notebook(nb, release_nb, flags=()):
    """Return a ``Repaired`` copy of student notebook ``nb`` in the shape of ``release_nb``."""
    result = Repaired(copy.deepcopy(nb))
    for name in flags:
        result.flag(name)
    student = result.nb.cells
    release = release_nb.cells
    pairs = align(release, student)
    matched_student = set(pairs.values())
    graded_ids = {_meta(c).get("grade_id") for c in release if _meta(c).get("grade_id")}

    # 1. every release cell with nbgrader metadata: its metadata and type on its student cell
    for i, rel in enumerate(release):
        rmeta = _meta(rel)
        if not rmeta.get("grade_id") or i not in pairs:
            continue
        j = pairs[i]
        cell = student[j]
        if cell.cell_type != rel.cell_type:
            cell = student[j] = _retype(cell, rel.cell_type)
            result.flag("cell-type-restored", f"{rmeta['grade_id']}: type put back to "
                                              f"{rel.cell_type}")
        smeta = _meta(cell)
        wanted = copy.deepcopy(rel.metadata)
        if any(smeta.get(k) != rmeta.get(k) for k in
               ("grade_id", "grade", "solution", "locked", "points")):
            result.flag("metadata-restored", f"{rmeta['grade_id']}: nbgrader metadata put back")
        for key in ("deletable", "editable"):
            cell.metadata.pop(key, None)
        cell.metadata.update(wanted)
        if rmeta.get("locked") and _squash(_visible_part(cell.source)) != _squash(rel.source):
            result.flag("locked-edited", f"{rmeta['grade_id']}: edited locked cell restored")

    # 2. student cells left over that claim an nbgrader id: copies or strays
    for j, cell in enumerate(student):
        smeta = _meta(cell)
        if j in matched_student or not smeta:
            continue
        if smeta.get("grade_id") in graded_ids:
            result.flag("duplicate-ids", f"{smeta.get('grade_id')}: extra copy ungraded")
        elif smeta.get("grade_id"):
            result.flag("unknown-cells", f"{smeta.get('grade_id')}: not in the assignment")
        cell.metadata.pop("nbgrader", None)
        cell.metadata.pop("editable", None)
        cell.metadata.pop("deletable", None)

    # 3. release cells without a student cell: put them back after their predecessor
    inserted = []  # (student position to insert before, release cell)
    last = -1
    for i, rel in enumerate(release):
        if i in pairs:
            last = pairs[i]
            continue
        if _meta(rel).get("grade_id"):
            inserted.append((last + 1, rel))
            result.flag("cells-reinserted", f"{_meta(rel)['grade_id']}: deleted cell put back")
    for position, rel in reversed(inserted):
        new = copy.deepcopy(rel)
        if new.cell_type == "code":
            new.outputs, new.execution_count = [], None
        student.insert(position, new)

    # 4. unique cell ids (nbformat 4.5 requires them)
    seen = set()
    duplicated = False
    for cell in student:
        cid = cell.get("id") or ""
        if not re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", cid) or cid in seen:
            duplicated = duplicated or cid in seen
            cid = uuid.uuid4().hex[:8]
            while cid in seen:
                cid = uuid.uuid4().hex[:8]
            cell["id"] = cid
        seen.add(cid)
    if duplicated:
        result.flag("duplicate-ids", "duplicated cell ids renewed")
    result.nb.nbformat, result.nb.nbformat_minor = 4, 5
    result.nb.metadata.setdefault("kernelspec", copy.deepcopy(
        release_nb.metadata.get("kernelspec", {})))
    nbformat.validate(result.nb)
    return result


# ----------------------------------------------------------------------------------------
# Which file is which notebook


def grade_ids(nb):
    return {_meta(c).get("grade_id") for c in nb.cells if _meta(c).get("grade_id")}


def _looks_like_notebook(path):
    name = path.name.lower()
    return path.is_file() and (name.endswith(".ipynb") or ".ipynb" in name)


def match_notebooks(folder, release_notebooks, max_bytes=None):
    """Pair files of a student's folder with the assignment's notebooks.

    ``release_notebooks`` maps notebook file names to release notebooks. Returns
    ``(found, extra)``: ``found[name] = (path, renamed)`` for each notebook found, and
    ``extra`` the other files (relative paths). A file under another name is taken for a
    notebook when it shares the most nbgrader ids (or, unreadable, the closest name).
    Links are never followed (a link to ``source/`` is no answer), and a file over
    ``max_bytes`` is not opened to find out what it is.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    found, used = {}, set()
    for name in release_notebooks:
        if (folder / name) in files:
            found[name] = (folder / name, False)
            used.add(folder / name)
    missing = [n for n in release_notebooks if n not in found]
    candidates = [p for p in files if p not in used and _looks_like_notebook(p)
                  and ".ipynb_checkpoints" not in p.parts
                  and (max_bytes is None or p.stat().st_size <= max_bytes)]
    if missing and candidates:
        ids = {}
        for path in candidates:
            try:
                ids[path] = grade_ids(read_notebook(path.read_bytes())[0])
            except Exception:
                ids[path] = set()
        for name in missing:
            wanted = grade_ids(release_notebooks[name])

            def fit(path):
                overlap = len(ids[path] & wanted)
                closeness = difflib.SequenceMatcher(None, path.name, name).ratio()
                return (overlap, closeness)
            left = [p for p in candidates if p not in used]
            if not left:
                break
            best = max(left, key=fit)
            overlap, closeness = fit(best)
            if overlap or len(missing) == 1 or closeness > 0.6:
                found[name] = (best, True)
                used.add(best)
    extra = [str(p.relative_to(folder)) for p in files if p not in used]
    return found, extra
