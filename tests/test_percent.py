"""The text form of notebooks converts both ways without loss."""
import nbformat

from autograders import SOURCE
from autograders.percent import from_percent, to_percent


def test_round_trip_keeps_cells_and_nbgrader_roles():
    nb = nbformat.read(SOURCE / "ch01_module" / "ch01_module.ipynb", as_version=4)
    again = from_percent(to_percent(nb))
    assert [c.cell_type for c in again.cells] == [c.cell_type for c in nb.cells]
    assert [c.source for c in again.cells] == [c.source for c in nb.cells]
    for a, b in zip(again.cells, nb.cells):
        assert a.metadata.get("nbgrader") == b.metadata.get("nbgrader")


def test_markers():
    nb = from_percent("# %% [markdown]\n# # Title\n\n# %% [setup setup]\nimport torch\n"
                      "# %% [solution ex1]\nx = 1\n# %% [test ex1_test 3]\nassert x == 1\n")
    kinds = [c.metadata.get("nbgrader", {}) for c in nb.cells]
    assert nb.cells[0].source == "# Title"
    assert kinds[1]["locked"] and not kinds[1]["grade"]
    assert kinds[2]["solution"] and not kinds[2]["grade"]
    assert kinds[3]["grade"] and kinds[3]["points"] == 3 and kinds[3]["locked"]
