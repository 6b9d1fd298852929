"""Authors edit notebooks as jupytext percent text: every source notebook survives the trip."""
import jupytext
import nbformat
import pytest

from autograders import SOURCE, assignments


@pytest.mark.parametrize("assignment", assignments())
def test_percent_round_trip_keeps_cells_and_nbgrader_roles(assignment):
    nb = nbformat.read(SOURCE / assignment / f"{assignment}.ipynb", as_version=4)
    text = jupytext.writes(nb, fmt="py:percent")
    again = jupytext.reads(text, fmt="py:percent")
    assert [c.cell_type for c in again.cells] == [c.cell_type for c in nb.cells]
    assert [c.source for c in again.cells] == [c.source for c in nb.cells]
    for a, b in zip(again.cells, nb.cells):
        assert a.metadata.get("nbgrader") == b.metadata.get("nbgrader")
        assert a.metadata.get("editable") == b.metadata.get("editable")


def test_a_test_cell_written_as_text_is_a_graded_cell():
    text = ('# %% [markdown]\n# # Title\n\n'
            '# %% nbgrader={"grade": true, "grade_id": "ex1_test", "locked": true, '
            '"points": 3, "schema_version": 3, "solution": false, "task": false}\n'
            'assert x == 1\n')
    nb = jupytext.reads(text, fmt="py:percent")
    assert nb.cells[0].source == "# Title"
    meta = nb.cells[1].metadata["nbgrader"]
    assert meta["grade"] and meta["points"] == 3 and meta["grade_id"] == "ex1_test"
