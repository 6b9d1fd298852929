"""Helpers the grading tests share: find a cell, wrap an attack, read the feedback."""
import html
import re
import textwrap


def cell_index(nb, grade_id):
    """The index of the cell whose nbgrader grade id is ``grade_id``."""
    for i, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return i
    raise KeyError(grade_id)


def guarded(body):
    """An attack's code as a cell that says whether it ran to its end or failed (and
    never stops the cells after it)."""
    body += "print('ATTACK DONE')\n"
    return ("try:\n" + textwrap.indent(body, "    ") +
            "except BaseException as exc:\n    print('ATTACK FAILED:', type(exc).__name__, exc)\n")


def feedback_text(out, student):
    """A student's feedback pages under the output folder ``out``, as written and as read
    (tags out, entities decoded: a page may write text as character references, and a
    line of highlighted code is split across tags)."""
    raw = "\n".join(p.read_text(errors="replace")
                    for p in (out / "feedback" / student).rglob("*.html"))
    return raw + "\n" + html.unescape(re.sub(r"<[^>]*>", "", raw))
