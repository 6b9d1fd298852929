"""nncourse.checks helpers that the diagnostics of every chapter share."""
import torch

from nncourse.checks import recognised_hint


def test_a_hint_is_given_only_for_the_mistake_the_result_matches():
    x = torch.tensor([[1.0, -2.0], [3.0, 4.0]])
    mistakes = [(x.abs(), "abs, not the value"), (x.T, "transposed")]
    assert recognised_hint(x.T.clone(), mistakes) == "transposed"
    assert recognised_hint(x.abs() + 1e-7, mistakes) == "abs, not the value"
    assert recognised_hint(x * 2, mistakes) is None          # a mistake nobody named
    assert recognised_hint(x.flatten(), mistakes) is None    # another shape is no match
    assert recognised_hint("not a tensor", mistakes) is None
