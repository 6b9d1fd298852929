"""What of a source notebook is secret: the lines inside solutions and hidden tests."""
import re

DELIMITER = re.compile(r"### (BEGIN|END) (SOLUTION|HIDDEN TESTS)")


def _lines_by_place(nb, cell_types=("code", "markdown", "raw")):
    """Yield ``(stripped line, inside a solution or hidden-test block)`` for every line."""
    inside = False
    for cell in nb.cells:
        if cell.cell_type not in cell_types:
            continue
        for line in cell.source.splitlines():
            stripped = line.strip()
            if DELIMITER.match(stripped):
                inside = stripped.startswith("### BEGIN")
                continue
            yield stripped, inside


def public_lines(nb):
    """Lines that stand outside solutions and hidden tests (what students are shown)."""
    return {line for line, inside in _lines_by_place(nb) if not inside}


def secret_lines(nb, min_length=13):
    """Substantial code lines of solutions and hidden tests (comments left out)."""
    return {line for line, inside in _lines_by_place(nb, ("code",))
            if inside and len(line) >= min_length and not line.startswith("#")}


def telling_lines(nb):
    """The secret lines that are no part of a public line: one found in what a student
    sees (as a substring: quoted inside a longer line too) came out of a solution or a
    hidden test."""
    public = "\n".join(public_lines(nb))
    return {line for line in secret_lines(nb) if line not in public}
