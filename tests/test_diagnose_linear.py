"""The chapter 6 diagnostics: the dry-run story, in_features, the flattened batch."""
import pytest
import torch
from torch import nn

from nncourse.checks import CheckFailure
from nncourse.diagnose_linear import (
    check_batch_independent, check_in_features, checked_call, dry_run_features, shape_story)

BODY = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.MaxPool2d(2))


def test_dry_run_gives_3600_not_3136():
    assert dry_run_features(BODY, (3, 32, 32)) == 3600


def test_shape_story_shows_formulas_and_the_failing_layer():
    story = shape_story(list(BODY) + [nn.Flatten(), nn.Linear(3136, 10)], (3, 32, 32))
    assert "floor((32 + 2*0 - 1*(3-1) - 1) / 1) + 1 = 30" in story
    assert "(1, 16, 15, 15)" in story
    assert "16 * 15 * 15 = 3600" in story
    assert "fails on (1, 3600)" in story


def test_check_in_features():
    check_in_features(nn.Linear(3600, 10), BODY, (3, 32, 32), quiet=True)
    with pytest.raises(CheckFailure, match="3136.*3600"):
        check_in_features(nn.Linear(3136, 10), BODY, (3, 32, 32))
    with pytest.raises(CheckFailure, match="LazyLinear"):
        check_in_features(nn.LazyLinear(10), BODY, (3, 32, 32))


def test_batch_independence_recognises_a_flattened_batch():
    layer = nn.Linear(4 * 12, 5)
    good = nn.Sequential(nn.Flatten(), nn.Linear(12, 5))
    check_batch_independent(good, torch.randn(4, 3, 2, 2), quiet=True)

    def mixed(X):
        return layer(torch.flatten(X)).expand(len(X), 5)

    with pytest.raises(CheckFailure, match="flattens the batch"):
        check_batch_independent(mixed, torch.randn(4, 3, 2, 2))
    with pytest.raises(CheckFailure, match="flattens the batch"):
        check_batch_independent(mixed, torch.randn(3, 3, 2, 2))   # wrong size: crashes
    with pytest.raises(CheckFailure, match="dimension 0 should be the batch"):
        check_batch_independent(lambda X: layer(torch.flatten(X)), torch.randn(4, 3, 2, 2))


def test_checked_call_turns_errors_into_hints():
    assert checked_call(torch.add, torch.ones(1), 1).item() == 2
    with pytest.raises(CheckFailure, match="Hint: use W.T"):
        checked_call(torch.matmul, torch.ones(2, 3), torch.ones(2, 3), hint="use W.T")
