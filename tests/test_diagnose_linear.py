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


def test_checked_call_adds_a_conditional_hint_only_for_its_error():
    view = {"view size is not compatible": "use reshape"}
    x = torch.randn(3, 4).T
    with pytest.raises(CheckFailure, match="Hint: use reshape"):
        checked_call(lambda t: t.view(-1), x, hint=view)
    with pytest.raises(CheckFailure) as info:
        checked_call(torch.matmul, torch.ones(2, 3), torch.ones(2, 3), hint=view)
    assert "Hint" not in str(info.value)
    with pytest.raises(CheckFailure) as info:
        checked_call(torch.matmul, torch.ones(2, 3), torch.ones(2, 3), hint=lambda err: None)
    assert "Hint" not in str(info.value)


def test_reshape_mistakes_are_named_by_their_shape():
    from nncourse.diagnose_linear import check_reshaped, flatten_mistakes, unflatten_mistakes
    X = torch.randn(2, 3, 4, 5)
    check_reshaped(torch.flatten(X, 1, 2), torch.flatten(X, 1, 2), quiet=True)
    with pytest.raises(CheckFailure, match="excluded"):
        check_reshaped(X.reshape(2, 3, 4, 5), torch.flatten(X, 1, 2), "flatten",
                       flatten_mistakes(X, 1, 2))
    with pytest.raises(CheckFailure, match="the batch too"):
        check_reshaped(X.reshape(-1), torch.flatten(X, 1), "flatten", flatten_mistakes(X))
    with pytest.raises(CheckFailure, match="values are not where"):
        check_reshaped(X.transpose(2, 3).reshape(2, -1), torch.flatten(X, 1))
    Y = torch.randn(4, 6, 12)
    with pytest.raises(CheckFailure, match="dropped"):        # -1 swallowed the 12
        check_reshaped(Y.reshape(4, 2, -1), torch.unflatten(Y, 1, (2, -1)), "unflatten",
                       unflatten_mistakes(Y, 1, (2, -1)))
    with pytest.raises(CheckFailure) as info:      # a shape no known mistake gives
        check_reshaped(Y.reshape(4, 72), torch.unflatten(Y, -1, (3, 4)), "unflatten",
                       unflatten_mistakes(Y, -1, (3, 4)))
    assert "Known mistake" not in str(info.value)


def test_linear_and_channel_mistakes_are_named_only_when_they_match():
    from nncourse.diagnose_linear import check_linear, check_linear_on_channels
    X, W, b = torch.randn(5, 4), torch.randn(4, 4), torch.randn(4)
    check_linear(X @ W.T + b, X, W, b, quiet=True)
    with pytest.raises(CheckFailure, match="transpose"):
        check_linear(X @ W + b, X, W, b)
    with pytest.raises(CheckFailure, match="bias is missing"):
        check_linear(X @ W.T, X, W, b)
    with pytest.raises(CheckFailure) as info:
        check_linear(X @ W.T + 2 * b, X, W, b)
    assert "Known mistake" not in str(info.value)
    layer, x = nn.Linear(3, 2), torch.randn(2, 3, 5, 4)
    check_linear_on_channels(layer(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2), x, layer,
                             quiet=True)
    with pytest.raises(CheckFailure, match="reshaped \\(or viewed\\)"):
        check_linear_on_channels(layer(x.reshape(2, 5, 4, 3)).reshape(2, -1, 5, 4), x, layer)
    with pytest.raises(CheckFailure, match="still last"):
        check_linear_on_channels(layer(x.permute(0, 2, 3, 1)), x, layer)


PREDICT_BODY = [nn.Conv2d(3, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]


def test_predicted_flatten_fails_with_the_rule_and_names_known_mistakes():
    from nncourse.diagnose_linear import check_predicted_flatten
    check_predicted_flatten((8, 75), (8, 3, 5, 5), quiet=True)
    check_predicted_flatten([24, 5, 5], (8, 3, 5, 5), 0, 1, quiet=True)
    with pytest.raises(CheckFailure, match="the batch too") as info:
        check_predicted_flatten((600,), (8, 3, 5, 5))
    assert "75" not in str(info.value)
    with pytest.raises(CheckFailure, match="default flatten"):
        check_predicted_flatten((8, 75), (8, 3, 5, 5), 0, 1)
    with pytest.raises(CheckFailure, match="both included") as info:
        check_predicted_flatten((8, 74), (8, 3, 5, 5))
    assert "Known mistake" not in str(info.value) and "75" not in str(info.value)


def test_predicted_in_features_names_the_wrong_rule_never_the_number():
    from nncourse.diagnose_linear import check_predicted_in_features
    check_predicted_in_features(576, PREDICT_BODY, (3, 32, 32), quiet=True)
    check_predicted_in_features(576, nn.Sequential(*PREDICT_BODY), (3, 32, 32), quiet=True)
    for wrong, known in [(400, "the \\+ 1"), (784, "rounding up"), (36, "channels were left"),
                         (288, "last Conv2d, not of the first"), (1024, "keep the size")]:
        with pytest.raises(CheckFailure, match=known) as info:
            check_predicted_in_features(wrong, PREDICT_BODY, (3, 32, 32))
        assert "576" not in str(info.value)
    with pytest.raises(CheckFailure) as info:
        check_predicted_in_features(577, PREDICT_BODY, (3, 32, 32))
    assert "Known mistake" not in str(info.value) and "floor(" in str(info.value)
    with pytest.raises(CheckFailure, match="should be an int"):
        check_predicted_in_features(576.0, PREDICT_BODY, (3, 32, 32))
    padded = [nn.Conv2d(1, 4, 3, padding=1), nn.MaxPool2d(2)]     # 9 -> 9 -> 4
    check_predicted_in_features(64, padded, (1, 9, 9), quiet=True)
    with pytest.raises(CheckFailure, match="padding was left out"):
        check_predicted_in_features(4 * 3 * 3, padded, (1, 9, 9))    # 9 -> 7 -> 3


def test_predicted_linear_shape_and_count():
    from nncourse.diagnose_linear import (check_predicted_linear_params,
                                          check_predicted_linear_shape)
    check_predicted_linear_shape((4, 7, 3), 16, 3, (4, 7, 16), quiet=True)
    check_predicted_linear_shape((3,), 16, 3, (16,), quiet=True)
    with pytest.raises(CheckFailure, match="does not merge"):
        check_predicted_linear_shape((28, 3), 16, 3, (4, 7, 16))
    with pytest.raises(CheckFailure, match="becomes out_features"):
        check_predicted_linear_shape((4, 7, 16), 16, 3, (4, 7, 16))
    check_predicted_linear_params(51, 16, 3, quiet=True)
    check_predicted_linear_params(48, 16, 3, bias=False, quiet=True)
    with pytest.raises(CheckFailure, match="bias was left out") as info:
        check_predicted_linear_params(48, 16, 3)
    assert "51" not in str(info.value)
    with pytest.raises(CheckFailure, match="no bias"):
        check_predicted_linear_params(51, 16, 3, bias=False)
    with pytest.raises(CheckFailure, match="does not depend on the input"):
        check_predicted_linear_params(51 * 28, 16, 3, input_shape=(4, 7, 16))
