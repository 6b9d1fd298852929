"""Every exercise is proven through real `nbgrader autograde`: reference full marks, blank
zero, and each mutant loses the points of the exercise it breaks."""
import pytest

from autograders import assignments
from autograders.mutants import exercises_of, load_mutants, prove, table


@pytest.mark.parametrize("assignment_id", assignments())
def test_exercises_are_proven(assignment_id, tmp_path):
    proof = prove(assignment_id, workdir=tmp_path)
    print(table(proof))
    assert len(proof.exercises) >= 5, "an assignment needs at least 5 graded exercises"
    assert sum(e.points for e in proof.exercises) >= 10
    for ex in proof.exercises:
        assert len(proof.mutants.get(ex.solution_id, [])) >= 2, (
            f"{ex.solution_id}: at least two mutants per exercise")
    assert not proof.problems, table(proof)


def test_mutant_file_is_parsed(tmp_path):
    mutants = load_mutants("ch01_module")
    assert "ex1_two_layer" in mutants
    first = mutants["ex1_two_layer"][0]
    assert first.description and "class TwoLayerNet" in first.source
