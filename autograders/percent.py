"""Notebooks as plain text, for writing and reviewing them: the "percent" format.

``# %%`` starts a code cell and ``# %% [markdown]`` a markdown cell (its lines start with
``# ``). nbgrader cells carry their role in the marker:

    # %% [setup]                  locked code cell run first (grade_id "setup")
    # %% [solution ex1_linear]    the student's answer cell
    # %% [test ex1_linear_test 2] locked test cell worth 2 points
    # %% [markdown locked intro]  read-only markdown cell

The .ipynb file stays the committed master; ``python -m autograders to-ipynb`` and
``to-percent`` convert both ways so that an edit can be made in either form.
"""
import re

import nbformat

MARKER = re.compile(r"^# %%(?: \[(?P<kind>[a-z]+)(?P<args>(?: [^\]\s]+)*)\])?\s*$")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _nbgrader(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def _cell(kind, args, lines):
    source = "\n".join(lines).strip("\n")
    if kind in ("markdown", "md"):
        text = "\n".join(re.sub(r"^# ?", "", line) for line in source.splitlines())
        cell = nbformat.v4.new_markdown_cell(text)
        if args:
            cell.metadata.nbgrader = _nbgrader(args[-1], locked=True)
            cell.metadata.editable = False
            cell.metadata.deletable = False
        return cell
    cell = nbformat.v4.new_code_cell(source)
    if kind == "setup":
        cell.metadata.nbgrader = _nbgrader(args[0] if args else "setup", locked=True)
    elif kind == "solution":
        cell.metadata.nbgrader = _nbgrader(args[0], solution=True)
    elif kind == "test":
        points = float(args[1]) if len(args) > 1 else 1.0
        points = int(points) if points.is_integer() else points
        cell.metadata.nbgrader = _nbgrader(args[0], grade=True, locked=True, points=points)
    elif kind is not None:
        raise ValueError(f"unknown cell marker [{kind}]")
    if kind in ("setup", "test"):
        cell.metadata.editable = False
        cell.metadata.deletable = False
    return cell


def from_percent(text):
    """Build a notebook from percent-format text."""
    cells, kind, args, lines, started = [], None, [], [], False
    for line in text.splitlines():
        match = MARKER.match(line)
        if match:
            if started:
                cells.append(_cell(kind, args, lines))
            kind, args = match.group("kind"), (match.group("args") or "").split()
            lines, started = [], True
        else:
            lines.append(line)
    if started:
        cells.append(_cell(kind, args, lines))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata.kernelspec = KERNELSPEC
    nb.metadata.language_info = {"name": "python"}
    return nb


def to_percent(nb):
    """Write a notebook as percent-format text (outputs are dropped)."""
    parts = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown":
            marker = "# %% [markdown" + (f" locked {meta['grade_id']}]" if meta else "]")
            body = "\n".join(("# " + l) if l else "#" for l in cell.source.splitlines())
        else:
            if meta.get("grade"):
                marker = f"# %% [test {meta['grade_id']} {meta.get('points', 1)}]"
            elif meta.get("solution"):
                marker = f"# %% [solution {meta['grade_id']}]"
            elif meta.get("locked"):
                marker = f"# %% [setup {meta['grade_id']}]"
            else:
                marker = "# %%"
            body = cell.source
        parts.append(f"{marker}\n{body}\n")
    return "\n".join(parts)
