"""Every exercise is proven both ways through nbgrader's autograding: reference and every
alternative full marks, blank zero, and each mutant loses the points of the exercise it
breaks.

One test class per assignment, so that pytest-xdist (``--dist loadscope``) spreads the
assignments over the workers instead of running them all in one.
"""
from autograders import assignments
from autograders.proof import prove, table
from autograders.sample import load_alternatives, load_mutants


class _ProveAssignment:
    assignment_id = None

    def test_exercises_are_proven(self, tmp_path):
        proof = prove(self.assignment_id, workdir=tmp_path)
        print(table(proof))
        assert len(proof.exercises) >= 5, "an assignment needs at least 5 graded exercises"
        assert sum(e.points for e in proof.exercises) >= 10
        for ex in proof.exercises:
            assert len(proof.mutants.get(ex.solution_id, [])) >= 2, (
                f"{ex.solution_id}: at least two mutants per exercise")
            assert len(proof.alternatives.get(ex.solution_id, [])) >= 2, (
                f"{ex.solution_id}: at least two alternatives per exercise")
        assert not proof.problems, table(proof)


for _aid in assignments():
    globals()[f"TestMutants_{_aid}"] = type(f"TestMutants_{_aid}", (_ProveAssignment,),
                                            {"assignment_id": _aid})


def test_class_grader_and_stock_nbgrader_agree(tmp_path):
    """The fast engine of the proofs gives the points of the `nbgrader autograde` command."""
    fast = prove("ch01_module", workdir=tmp_path)
    stock = prove("ch01_module", workdir=tmp_path, stock=True)
    assert set(fast.scores) == set(stock.scores)
    assert {"reference", "blank", "mutant-1", "alternative-1"} <= set(fast.scores)
    assert fast.scores == stock.scores
    assert not stock.problems, table(stock)


def test_mutant_file_is_parsed():
    mutants = load_mutants("ch01_module")
    assert "ex1_two_layer" in mutants
    first = mutants["ex1_two_layer"][0]
    assert first.description and "class TwoLayerNet" in first.source


def test_alternative_file_is_parsed():
    alternatives = load_alternatives("ch01_module")
    assert "ex1_two_layer" in alternatives
    first = alternatives["ex1_two_layer"][0]
    assert first.description and "TwoLayerNet" in first.source
